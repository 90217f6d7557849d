#!/usr/bin/env python3
"""Writes data/catalog/aws.json and azure.json, the AWS and Azure part of the price catalogue
snapshot that ferry compiles in. (gcp.json comes from ferry's own importer: see README.md.)

The figures below are public Linux list prices as of September 2024, written down from the
providers' price pages (not fetched: ferry builds offline). They are a snapshot to refresh:
`ferry catalog import --from aws|azure FILE` reads the providers' own price files.

  * Base prices: AWS us-east-1 on demand, Azure eastus pay as you go, USD per hour.
  * Other regions: the base price x the region's ratio (REGIONS below), the typical ratio of
    the general-purpose families in that region at the snapshot date. Approximate.
  * Commitments: the on-demand price x the typical discount of a no-upfront commitment
    (COMMIT_1Y, COMMIT_3Y): AWS standard Reserved Instances, Azure reservations. Approximate.

Run from the repository root: python3 data/catalog/make_snapshot.py
"""
import json
import os

SNAPSHOT_DATE = "2024-09-01"

AWS = {
    # family: (architecture, burstable, [(size, vcpus, memory_gib, us-east-1 USD/h)])
    "t3": ("x86_64", True, [("nano", 2, 0.5, 0.0052), ("micro", 2, 1, 0.0104),
                            ("small", 2, 2, 0.0208), ("medium", 2, 4, 0.0416),
                            ("large", 2, 8, 0.0832), ("xlarge", 4, 16, 0.1664),
                            ("2xlarge", 8, 32, 0.3328)]),
    "t4g": ("aarch64", True, [("nano", 2, 0.5, 0.0042), ("micro", 2, 1, 0.0084),
                              ("small", 2, 2, 0.0168), ("medium", 2, 4, 0.0336),
                              ("large", 2, 8, 0.0672), ("xlarge", 4, 16, 0.1344),
                              ("2xlarge", 8, 32, 0.2688)]),
    "m6i": ("x86_64", False, [("large", 2, 8, 0.096), ("xlarge", 4, 16, 0.192),
                              ("2xlarge", 8, 32, 0.384), ("4xlarge", 16, 64, 0.768),
                              ("8xlarge", 32, 128, 1.536), ("12xlarge", 48, 192, 2.304),
                              ("16xlarge", 64, 256, 3.072), ("24xlarge", 96, 384, 4.608),
                              ("32xlarge", 128, 512, 6.144)]),
    "m7i": ("x86_64", False, [("large", 2, 8, 0.1008), ("xlarge", 4, 16, 0.2016),
                              ("2xlarge", 8, 32, 0.4032), ("4xlarge", 16, 64, 0.8064),
                              ("8xlarge", 32, 128, 1.6128), ("12xlarge", 48, 192, 2.4192),
                              ("16xlarge", 64, 256, 3.2256), ("24xlarge", 96, 384, 4.8384),
                              ("48xlarge", 192, 768, 9.6768)]),
    "m7g": ("aarch64", False, [("medium", 1, 4, 0.0408), ("large", 2, 8, 0.0816),
                               ("xlarge", 4, 16, 0.1632), ("2xlarge", 8, 32, 0.3264),
                               ("4xlarge", 16, 64, 0.6528), ("8xlarge", 32, 128, 1.3056),
                               ("12xlarge", 48, 192, 1.9584), ("16xlarge", 64, 256, 2.6112)]),
    "c6i": ("x86_64", False, [("large", 2, 4, 0.085), ("xlarge", 4, 8, 0.17),
                              ("2xlarge", 8, 16, 0.34), ("4xlarge", 16, 32, 0.68),
                              ("8xlarge", 32, 64, 1.36), ("12xlarge", 48, 96, 2.04),
                              ("16xlarge", 64, 128, 2.72), ("24xlarge", 96, 192, 4.08),
                              ("32xlarge", 128, 256, 5.44)]),
    "c7i": ("x86_64", False, [("large", 2, 4, 0.08925), ("xlarge", 4, 8, 0.1785),
                              ("2xlarge", 8, 16, 0.357), ("4xlarge", 16, 32, 0.714),
                              ("8xlarge", 32, 64, 1.428), ("12xlarge", 48, 96, 2.142),
                              ("16xlarge", 64, 128, 2.856), ("24xlarge", 96, 192, 4.284),
                              ("48xlarge", 192, 384, 8.568)]),
    "r6i": ("x86_64", False, [("large", 2, 16, 0.126), ("xlarge", 4, 32, 0.252),
                              ("2xlarge", 8, 64, 0.504), ("4xlarge", 16, 128, 1.008),
                              ("8xlarge", 32, 256, 2.016), ("12xlarge", 48, 384, 3.024),
                              ("16xlarge", 64, 512, 4.032), ("24xlarge", 96, 768, 6.048),
                              ("32xlarge", 128, 1024, 8.064)]),
    "r7i": ("x86_64", False, [("large", 2, 16, 0.1323), ("xlarge", 4, 32, 0.2646),
                              ("2xlarge", 8, 64, 0.5292), ("4xlarge", 16, 128, 1.0584),
                              ("8xlarge", 32, 256, 2.1168), ("12xlarge", 48, 384, 3.1752),
                              ("16xlarge", 64, 512, 4.2336), ("24xlarge", 96, 768, 6.3504),
                              ("48xlarge", 192, 1536, 12.7008)]),
    "x2idn": ("x86_64", False, [("16xlarge", 64, 1024, 6.66902), ("24xlarge", 96, 1536, 10.00353),
                                ("32xlarge", 128, 2048, 13.33804)]),
}

AZURE = {
    # family: (architecture, burstable, [(armSkuName, vcpus, memory_gib, eastus USD/h)])
    "B": ("x86_64", True, [("Standard_B1ls", 1, 0.5, 0.0052), ("Standard_B1s", 1, 1, 0.0104),
                           ("Standard_B1ms", 1, 2, 0.0207), ("Standard_B2s", 2, 4, 0.0416),
                           ("Standard_B2ms", 2, 8, 0.0832), ("Standard_B4ms", 4, 16, 0.166),
                           ("Standard_B8ms", 8, 32, 0.333), ("Standard_B12ms", 12, 48, 0.499),
                           ("Standard_B16ms", 16, 64, 0.666), ("Standard_B20ms", 20, 80, 0.832)]),
    "Dsv5": ("x86_64", False, [("Standard_D2s_v5", 2, 8, 0.096), ("Standard_D4s_v5", 4, 16, 0.192),
                               ("Standard_D8s_v5", 8, 32, 0.384),
                               ("Standard_D16s_v5", 16, 64, 0.768),
                               ("Standard_D32s_v5", 32, 128, 1.536),
                               ("Standard_D48s_v5", 48, 192, 2.304),
                               ("Standard_D64s_v5", 64, 256, 3.072),
                               ("Standard_D96s_v5", 96, 384, 4.608)]),
    "Dasv5": ("x86_64", False, [("Standard_D2as_v5", 2, 8, 0.086),
                                ("Standard_D4as_v5", 4, 16, 0.172),
                                ("Standard_D8as_v5", 8, 32, 0.344),
                                ("Standard_D16as_v5", 16, 64, 0.688),
                                ("Standard_D32as_v5", 32, 128, 1.376),
                                ("Standard_D48as_v5", 48, 192, 2.064),
                                ("Standard_D64as_v5", 64, 256, 2.752),
                                ("Standard_D96as_v5", 96, 384, 4.128)]),
    "Dpsv5": ("aarch64", False, [("Standard_D2ps_v5", 2, 8, 0.077),
                                 ("Standard_D4ps_v5", 4, 16, 0.154),
                                 ("Standard_D8ps_v5", 8, 32, 0.308),
                                 ("Standard_D16ps_v5", 16, 64, 0.616),
                                 ("Standard_D32ps_v5", 32, 128, 1.232),
                                 ("Standard_D48ps_v5", 48, 192, 1.848),
                                 ("Standard_D64ps_v5", 64, 256, 2.464)]),
    "Esv5": ("x86_64", False, [("Standard_E2s_v5", 2, 16, 0.126), ("Standard_E4s_v5", 4, 32, 0.252),
                               ("Standard_E8s_v5", 8, 64, 0.504),
                               ("Standard_E16s_v5", 16, 128, 1.008),
                               ("Standard_E20s_v5", 20, 160, 1.26),
                               ("Standard_E32s_v5", 32, 256, 2.016),
                               ("Standard_E48s_v5", 48, 384, 3.024),
                               ("Standard_E64s_v5", 64, 512, 4.032),
                               ("Standard_E96s_v5", 96, 672, 6.048)]),
    "Easv5": ("x86_64", False, [("Standard_E2as_v5", 2, 16, 0.113),
                                ("Standard_E4as_v5", 4, 32, 0.226),
                                ("Standard_E8as_v5", 8, 64, 0.452),
                                ("Standard_E16as_v5", 16, 128, 0.904),
                                ("Standard_E20as_v5", 20, 160, 1.13),
                                ("Standard_E32as_v5", 32, 256, 1.808),
                                ("Standard_E48as_v5", 48, 384, 2.712),
                                ("Standard_E64as_v5", 64, 512, 3.616),
                                ("Standard_E96as_v5", 96, 672, 5.424)]),
    "Fsv2": ("x86_64", False, [("Standard_F2s_v2", 2, 4, 0.0846), ("Standard_F4s_v2", 4, 8, 0.169),
                               ("Standard_F8s_v2", 8, 16, 0.338),
                               ("Standard_F16s_v2", 16, 32, 0.677),
                               ("Standard_F32s_v2", 32, 64, 1.353),
                               ("Standard_F48s_v2", 48, 96, 2.03),
                               ("Standard_F64s_v2", 64, 128, 2.706),
                               ("Standard_F72s_v2", 72, 144, 3.045)]),
}

CLOUDS = {
    "aws": {
        "families": AWS,
        "name": lambda family, size: f"{family}.{size}",
        "default_region": "us-east-1",
        # region: (price ratio to the base region, storage USD/GB-month, egress USD/GB)
        "regions": {"us-east-1": (1.0, 0.08, 0.09), "eu-west-1": (1.12, 0.088, 0.09),
                    "ap-southeast-1": (1.22, 0.096, 0.12)},
        "storage": "gp3",
        "free_egress_gb": 100,
        "commit": (0.63, 0.435),
        "source": ("snapshot: AWS EC2 Linux on-demand list prices of us-east-1 as of 2024-09 "
                   "(aws.amazon.com/ec2/pricing/on-demand); eu-west-1 x1.12 and ap-southeast-1 "
                   "x1.22 of them, commitments 0.63 (1 year) and 0.435 (3 years) of on demand "
                   "(standard Reserved Instances, no upfront): approximate, refresh with "
                   "`ferry catalog import --from aws`"),
    },
    "azure": {
        "families": AZURE,
        "name": lambda family, size: size,
        "default_region": "eastus",
        "regions": {"eastus": (1.0, 0.075, 0.087), "westeurope": (1.19, 0.0825, 0.087),
                    "southeastasia": (1.24, 0.09, 0.12)},
        "storage": "Standard SSD managed disk",
        "free_egress_gb": 100,
        "commit": (0.61, 0.39),
        "source": ("snapshot: Azure Linux pay-as-you-go list prices of eastus as of 2024-09 "
                   "(azure.microsoft.com/pricing/details/virtual-machines/linux); westeurope "
                   "x1.19 and southeastasia x1.24 of them, commitments 0.61 (1 year) and 0.39 "
                   "(3 years) of pay as you go (reservations): approximate, refresh with `ferry "
                   "catalog import --from azure`"),
    },
}


def cloud_section(cloud, spec):
    instances = []
    one, three = spec["commit"]
    for family, (arch, burstable, sizes) in spec["families"].items():
        for size, vcpus, memory, price in sizes:
            prices = {}
            for region, (ratio, _, _) in spec["regions"].items():
                on_demand = round(price * ratio, 6)
                prices[region] = {"on_demand": on_demand,
                                  "commit_1y": round(on_demand * one, 6),
                                  "commit_3y": round(on_demand * three, 6)}
            item = {"type": spec["name"](family, size), "family": family, "vcpus": vcpus,
                    "memory_gib": memory, "architecture": arch, "prices": prices}
            if burstable:
                item["burstable"] = True
            instances.append(item)
    regions = {region: {"storage": {"name": spec["storage"], "usd_per_gb_month": storage},
                        "egress": {"usd_per_gb": egress,
                                   "free_gb_per_month": spec["free_egress_gb"]}}
               for region, (_, storage, egress) in spec["regions"].items()}
    return {"cloud": cloud, "currency": "USD", "snapshot_date": SNAPSHOT_DATE,
            "source": spec["source"], "default_region": spec["default_region"],
            "regions": regions, "instances": instances}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for cloud, spec in CLOUDS.items():
        doc = {"catalog_version": 1, "clouds": [cloud_section(cloud, spec)]}
        with open(os.path.join(here, f"{cloud}.json"), "w", encoding="ascii") as out:
            json.dump(doc, out, indent=1, sort_keys=False)
            out.write("\n")


if __name__ == "__main__":
    main()
