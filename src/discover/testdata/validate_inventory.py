#!/usr/bin/env python3
"""Validates ferry inventories against docs/inventory.schema.json (JSON Schema draft 2020-12).

    validate_inventory.py SCHEMA FILE...     (a FILE ending in .jsonl holds one inventory a line)

The validator is python3-jsonschema from Debian (scripts/debian-packages.txt): an implementation
independent of ferry. Exit 0 valid, 1 invalid (each error printed with its JSON path), 77 when
jsonschema is not installed (the tests then skip and say so).
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed: apt-get install python3-jsonschema")
    sys.exit(77)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = 0
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".jsonl"):
            documents = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            documents = [json.loads(text)]
        for number, document in enumerate(documents, 1):
            for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
                errors += 1
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                print(f"{path}#{number}: {where}: {error.message}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
