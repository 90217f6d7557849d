// The OpenAPI 3 document of the API (GET /api/v1/openapi.json), built once from the operations
// below: each one's summary, parameters, request body and answers. Its role (x-ferry-role) comes
// from the route table in api.cc, and so do the answers every authenticated route shares (401,
// 403 naming the role, 429). server_test checks that the document, the routes served and the
// test's own role table agree, and that every $ref names a schema.
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "server/api.h"

namespace ferry::server {
namespace {

// The schemas the operations refer to (#/components/schemas/NAME).
constexpr std::string_view kComponents = R"openapi({
 "schemas": {
  "ApiKey": {
   "properties": {
    "created_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "created_by": {
     "type": "string"
    },
    "expires_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "id": {
     "type": "string"
    },
    "name": {
     "type": "string"
    },
    "revoked_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "role": {
     "type": "string"
    },
    "state": {
     "enum": [
      "active",
      "expired",
      "revoked"
     ],
     "type": "string"
    }
   },
   "type": "object"
  },
  "Error": {
   "properties": {
    "error": {
     "properties": {
      "code": {
       "type": "string"
      },
      "message": {
       "type": "string"
      }
     },
     "required": [
      "code",
      "message"
     ],
     "type": "object"
    }
   },
   "required": [
    "error"
   ],
   "type": "object"
  },
  "Event": {
   "properties": {
    "actor": {
     "type": "string"
    },
    "at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "hash": {
     "type": "string"
    },
    "kind": {
     "type": "string"
    },
    "payload": {
     "type": "object"
    },
    "prev_hash": {
     "type": "string"
    },
    "run_id": {
     "type": "string"
    },
    "seq": {
     "type": "integer"
    }
   },
   "type": "object"
  },
  "EventLogReport": {
   "properties": {
    "events_checked": {
     "type": "integer"
    },
    "first_bad_seq": {
     "type": "integer"
    },
    "head_hash": {
     "type": "string"
    },
    "intact": {
     "type": "boolean"
    },
    "problems": {
     "items": {
      "type": "string"
     },
     "type": "array"
    }
   },
   "type": "object"
  },
  "InventorySummary": {
   "properties": {
    "bytes": {
     "type": "integer"
    },
    "name": {
     "type": "string"
    },
    "saved_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "schema_version": {
     "type": "string"
    },
    "source_kind": {
     "type": "string"
    },
    "taken_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    }
   },
   "type": "object"
  },
  "NewApiKey": {
   "allOf": [
    {
     "$ref": "#/components/schemas/ApiKey"
    },
    {
     "properties": {
      "key": {
       "description": "fry_<id>_<secret>: shown once",
       "type": "string"
      }
     },
     "type": "object"
    }
   ]
  },
  "Phase": {
   "properties": {
    "approval": {
     "type": "string"
    },
    "approved_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "approved_by": {
     "type": "string"
    },
    "name": {
     "type": "string"
    },
    "state": {
     "enum": [
      "pending",
      "waiting-approval",
      "running",
      "done",
      "failed"
     ],
     "type": "string"
    }
   },
   "type": "object"
  },
  "PlanSummary": {
   "properties": {
    "created_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "created_by": {
     "type": "string"
    },
    "hosts": {
     "type": "integer"
    },
    "id": {
     "type": "string"
    },
    "options": {
     "type": "object"
    },
    "waves": {
     "type": "integer"
    }
   },
   "type": "object"
  },
  "Progress": {
   "properties": {
    "bytes_done": {
     "type": "integer"
    },
    "bytes_total": {
     "type": "integer"
    },
    "detail": {
     "type": "string"
    },
    "rows_done": {
     "type": "integer"
    },
    "rows_total": {
     "type": "integer"
    }
   },
   "type": "object"
  },
  "Project": {
   "properties": {
    "created_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "created_by": {
     "type": "string"
    },
    "description": {
     "type": "string"
    },
    "name": {
     "type": "string"
    }
   },
   "type": "object"
  },
  "Run": {
   "properties": {
    "awaiting": {
     "type": "string"
    },
    "bytes_done": {
     "type": "integer"
    },
    "created_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "error": {
     "type": "string"
    },
    "id": {
     "type": "string"
    },
    "name": {
     "type": "string"
    },
    "phases": {
     "items": {
      "$ref": "#/components/schemas/Phase"
     },
     "type": "array"
    },
    "rows_done": {
     "type": "integer"
    },
    "spec_yaml": {
     "type": "string"
    },
    "started_by": {
     "type": "string"
    },
    "state": {
     "enum": [
      "running",
      "waiting-approval",
      "paused",
      "succeeded",
      "failed",
      "cancelled",
      "rolling-back",
      "rolled-back",
      "rollback-failed"
     ],
     "type": "string"
    },
    "tasks": {
     "items": {
      "$ref": "#/components/schemas/Task"
     },
     "type": "array"
    },
    "updated_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    }
   },
   "type": "object"
  },
  "RunSummary": {
   "properties": {
    "created_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "id": {
     "type": "string"
    },
    "name": {
     "type": "string"
    },
    "state": {
     "type": "string"
    },
    "tasks_done": {
     "type": "integer"
    },
    "tasks_total": {
     "type": "integer"
    },
    "updated_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    }
   },
   "type": "object"
  },
  "Session": {
   "properties": {
    "expires_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "name": {
     "type": "string"
    },
    "role": {
     "type": "string"
    },
    "token": {
     "type": "string"
    }
   },
   "type": "object"
  },
  "Status": {
   "properties": {
    "reason": {
     "type": "string"
    },
    "schema_version": {
     "type": "integer"
    },
    "status": {
     "type": "string"
    },
    "store": {
     "type": "string"
    }
   },
   "type": "object"
  },
  "Task": {
   "properties": {
    "attempts": {
     "type": "integer"
    },
    "error": {
     "type": "string"
    },
    "eta_seconds": {
     "nullable": true,
     "type": "number"
    },
    "finished_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "id": {
     "type": "string"
    },
    "max_attempts": {
     "type": "integer"
    },
    "phase": {
     "type": "string"
    },
    "progress": {
     "$ref": "#/components/schemas/Progress"
    },
    "result": {},
    "rows_per_second": {
     "type": "number"
    },
    "started_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "state": {
     "enum": [
      "waiting",
      "queued",
      "running",
      "retrying",
      "done",
      "failed",
      "undoing",
      "undone",
      "undo-failed"
     ],
     "type": "string"
    },
    "type": {
     "type": "string"
    }
   },
   "type": "object"
  },
  "WhoAmI": {
   "properties": {
    "actor": {
     "type": "string"
    },
    "expires_at": {
     "format": "date-time",
     "nullable": true,
     "type": "string"
    },
    "key_id": {
     "type": "string"
    },
    "name": {
     "type": "string"
    },
    "role": {
     "type": "string"
    },
    "session": {
     "type": "boolean"
    }
   },
   "type": "object"
  }
 },
 "securitySchemes": {
  "bearer": {
   "description": "An API key fry_<id>_<secret>, or a session token frs_... from POST /api/v1/session",
   "scheme": "bearer",
   "type": "http"
  }
 }
})openapi";

Json Ref(std::string_view schema) {
  return {{"$ref", "#/components/schemas/" + std::string(schema)}};
}
// {"<key>": [<schema>, ...]}
Json ListOf(std::string_view key, std::string_view schema) {
  Json array = {{"type", "array"}, {"items", Ref(schema)}};
  Json properties = Json::object();
  properties[std::string(key)] = std::move(array);
  return {{"type", "object"}, {"properties", std::move(properties)}};
}
Json AnObject() { return {{"type", "object"}}; }
Json JsonBody(Json schema) { return {{"application/json", {{"schema", std::move(schema)}}}}; }

Json Param(std::string_view in, std::string_view name, std::string_view description,
           std::string_view type, bool required) {
  return {{"in", in},
          {"name", name},
          {"description", description},
          {"required", required},
          {"schema", {{"type", type}}}};
}
Json PathParam(std::string_view name, std::string_view description) {
  return Param("path", name, description, "string", true);
}
Json QueryInt(std::string_view name, std::string_view description) {
  return Param("query", name, description, "integer", false);
}
Json HeaderParam(std::string_view name, std::string_view description) {
  return Param("header", name, description, "string", false);
}

struct Answer {
  int status;
  std::string_view description;
  Json content = JsonBody(Ref("Error"));  // an error in the API's shape, unless said otherwise
};

struct Operation {
  std::string_view method;  // as in the route table
  std::string path;
  std::string_view summary;
  std::string_view tag;
  std::vector<Json> parameters;
  Json request_body;            // null: none
  std::vector<Answer> answers;  // besides the 401, 403 and 429 of every authenticated route
};

// POST /api/v1/runs/{id}/<verb>: the run's controls, which answer alike.
Operation RunControl(std::string_view verb, std::string_view summary) {
  return {"POST",
          "/api/v1/runs/{id}/" + std::string(verb),
          summary,
          "runs",
          {PathParam("id", "run id")},
          nullptr,
          {{200, "the run as it now is", JsonBody(Ref("Run"))},
           {400, "the run's state does not allow it"},
           {404, "no such run"}}};
}

// In the route table's order.
std::vector<Operation> Operations() {
  return {
      {"GET",
       "/health/live",
       "The process answers",
       "health",
       {},
       nullptr,
       {{200, "alive", JsonBody(Ref("Status"))}}},
      {"GET",
       "/health/ready",
       "The store is reachable and its schema migrations applied",
       "health",
       {},
       nullptr,
       {{200, "ready", JsonBody(Ref("Status"))}, {503, "not ready", JsonBody(Ref("Status"))}}},
      {"GET",
       "/health/deep",
       "Status of each component (store, event log, event streams, engine, console)",
       "health",
       {},
       nullptr,
       {{200, "healthy", JsonBody(AnObject())}, {503, "degraded", JsonBody(AnObject())}}},
      {"GET",
       "/metrics",
       "Prometheus metrics (text exposition format 0.0.4)",
       "health",
       {},
       nullptr,
       {{200, "metrics", Json::parse(R"({"text/plain":{"schema":{"type":"string"}}})")}}},
      {"GET",
       "/api/v1/openapi.json",
       "This document",
       "meta",
       {},
       nullptr,
       {{200, "the OpenAPI 3 document", JsonBody(AnObject())}}},
      {"POST",
       "/api/v1/session",
       "Open a console session with an API key (valid 12 h, never beyond the key's expiry)",
       "auth",
       {},
       Json::parse(
           R"({"content":{"application/json":{"schema":{"additionalProperties":false,"properties":{"api_key":{"type":"string"}},"required":["api_key"],"type":"object"}}},"required":true})"),
       {{200, "the session", JsonBody(Ref("Session"))},
        {400, "malformed body"},
        {401, "the key is unknown, expired or revoked"},
        {429, "too many attempts from this address"}}},
      {"GET",
       "/api/v1/whoami",
       "The caller",
       "auth",
       {},
       nullptr,
       {{200, "who", JsonBody(Ref("WhoAmI"))}}},
      {"GET",
       "/api/v1/runs",
       "Runs, newest first",
       "runs",
       {QueryInt("limit", "at most this many (1-1000, default 100)")},
       nullptr,
       {{200, "runs", JsonBody(ListOf("runs", "RunSummary"))}}},
      {"POST",
       "/api/v1/runs",
       "Start a run from its spec (YAML)",
       "runs",
       {},
       Json::parse(
           R"({"content":{"application/json":{"schema":{"properties":{"spec":{"type":"string"}},"required":["spec"],"type":"object"}},"application/yaml":{"schema":{"type":"string"}},"text/yaml":{"schema":{"type":"string"}}},"required":true})"),
       {{201, "started",
         Json::parse(
             R"({"application/json":{"schema":{"properties":{"id":{"type":"string"}},"type":"object"}}})")},
        {400, "the spec is not valid (the message gives line and column)"}}},
      {"GET",
       "/api/v1/runs/{id}",
       "A run: phases, tasks, progress",
       "runs",
       {PathParam("id", "run id")},
       nullptr,
       {{200, "the run", JsonBody(Ref("Run"))}, {404, "no such run"}}},
      RunControl("pause", "Pause: no new task starts"),
      RunControl("resume", "Resume a paused run, or retry a failed one"),
      RunControl("cancel", "Cancel for good (roll back or start anew)"),
      RunControl("rollback", "Undo the run's tasks in reverse order"),
      {"POST",
       "/api/v1/runs/{id}/approve",
       "Approve the phase awaiting approval (needs the phase's role)",
       "runs",
       {PathParam("id", "run id")},
       Json::parse(
           R"({"content":{"application/json":{"schema":{"properties":{"phase":{"type":"string"}},"required":["phase"],"type":"object"}}},"required":true})"),
       {{200, "the run", JsonBody(Ref("Run"))},
        {400, "that phase is not awaiting approval"},
        {404, "no such run"}}},
      {"GET",
       "/api/v1/runs/{id}/tasks",
       "The run's tasks",
       "runs",
       {PathParam("id", "run id")},
       nullptr,
       {{200, "tasks", JsonBody(ListOf("tasks", "Task"))}, {404, "no such run"}}},
      {"GET",
       "/api/v1/runs/{id}/events",
       "The run's events: server-sent events with Accept: text/event-stream (resuming after "
       "Last-Event-ID), else JSON",
       "runs",
       {PathParam("id", "run id"), QueryInt("after", "events after this sequence number"),
        QueryInt("limit", "at most this many (JSON only; 1-10000)"),
        HeaderParam("Last-Event-ID", "resume after this sequence number")},
       nullptr,
       {{200, "events",
         Json::parse(
             R"({"application/json":{"schema":{"properties":{"events":{"items":{"$ref":"#/components/schemas/Event"},"type":"array"}},"type":"object"}},"text/event-stream":{"schema":{"type":"string"}}})")},
        {404, "no such run"}}},
      {"GET",
       "/api/v1/runs/{id}/artifacts",
       "Files the run's tasks wrote",
       "runs",
       {PathParam("id", "run id")},
       nullptr,
       {{200, "artifacts",
         Json::parse(
             R"({"application/json":{"schema":{"properties":{"artifacts":{"items":{"properties":{"name":{"type":"string"},"size":{"type":"integer"}},"type":"object"},"type":"array"}},"type":"object"}}})")},
        {404, "no such run"}}},
      {"GET",
       "/api/v1/runs/{id}/artifacts/{name}",
       "One artifact",
       "runs",
       {PathParam("id", "run id"),
        PathParam("name", "the artifact's name as listed (may contain /)")},
       nullptr,
       {{200, "the file",
         Json::parse(
             R"({"application/octet-stream":{"schema":{"format":"binary","type":"string"}}})")},
        {404, "no such run or artifact"}}},
      {"GET",
       "/api/v1/events",
       "The whole event log",
       "events",
       {QueryInt("after", "events after this sequence number"),
        QueryInt("limit", "at most this many (1-1000, default 100)")},
       nullptr,
       {{200, "events", JsonBody(ListOf("events", "Event"))}}},
      {"GET",
       "/api/v1/events/verify",
       "Verify the event log's hash chain",
       "events",
       {},
       nullptr,
       {{200, "the report", JsonBody(Ref("EventLogReport"))}}},
      {"GET",
       "/api/v1/projects",
       "Projects",
       "projects",
       {},
       nullptr,
       {{200, "projects", JsonBody(ListOf("projects", "Project"))}}},
      {"POST",
       "/api/v1/projects",
       "Create a project",
       "projects",
       {},
       Json::parse(
           R"({"content":{"application/json":{"schema":{"properties":{"description":{"type":"string"},"name":{"type":"string"}},"required":["name"],"type":"object"}}},"required":true})"),
       {{201, "created", JsonBody(Ref("Project"))}, {400, "bad name"}, {409, "the name is taken"}}},
      {"GET",
       "/api/v1/projects/{name}",
       "A project",
       "projects",
       {PathParam("name", "project name")},
       nullptr,
       {{200, "the project", JsonBody(Ref("Project"))}, {404, "no such project"}}},
      {"GET",
       "/api/v1/inventories",
       "Host inventories saved in the store",
       "plans",
       {},
       nullptr,
       {{200, "inventories", JsonBody(ListOf("inventories", "InventorySummary"))}}},
      {"GET",
       "/api/v1/inventories/{name}",
       "One inventory document (docs/inventory.schema.json)",
       "plans",
       {PathParam("name", "host name")},
       nullptr,
       {{200, "the inventory", JsonBody(AnObject())}, {404, "no such inventory"}}},
      {"GET",
       "/api/v1/plans",
       "Plans, newest first",
       "plans",
       {QueryInt("limit", "at most this many (1-1000, default 100)")},
       nullptr,
       {{200, "plans", JsonBody(ListOf("plans", "PlanSummary"))}}},
      {"POST",
       "/api/v1/plans",
       "Plan the store's inventories (as `ferry plan --from-store --json`)",
       "plans",
       {},
       Json::parse(
           R"({"content":{"application/json":{"schema":{"additionalProperties":false,"properties":{"comfort":{"type":"number"},"date":{"format":"date","type":"string"},"max_wave_size":{"type":"integer"},"percentile":{"type":"integer"},"regions":{"additionalProperties":{"type":"string"},"type":"object"}},"type":"object"}}},"required":false})"),
       {{201, "made",
         Json::parse(
             R"({"application/json":{"schema":{"properties":{"hosts":{"type":"integer"},"id":{"type":"string"},"waves":{"type":"integer"}},"type":"object"}}})")},
        {400, "bad options, or no inventory in the store"}}},
      {"GET",
       "/api/v1/plans/{id}",
       "A plan, as `ferry plan --json` writes it",
       "plans",
       {PathParam("id", "plan id")},
       nullptr,
       {{200, "the plan", JsonBody(AnObject())}, {404, "no such plan"}}},
      {"GET",
       "/api/v1/keys",
       "API keys (never their secrets)",
       "auth",
       {},
       nullptr,
       {{200, "keys", JsonBody(ListOf("keys", "ApiKey"))}}},
      {"POST",
       "/api/v1/keys",
       "Create an API key; `key` is shown this once",
       "auth",
       {},
       Json::parse(
           R"({"content":{"application/json":{"schema":{"properties":{"expires_in_days":{"description":"default 90; 0: never","type":"integer"},"name":{"type":"string"},"role":{"enum":["viewer","operator","admin"],"type":"string"}},"required":["name","role"],"type":"object"}}},"required":true})"),
       {{201, "created", JsonBody(Ref("NewApiKey"))},
        {400, "bad name, role or expiry"},
        {409, "a key in force has that name"}}},
      {"DELETE",
       "/api/v1/keys/{id}",
       "Revoke a key (and end its sessions)",
       "auth",
       {PathParam("id", "key id (the 16 hex digits after fry_)")},
       nullptr,
       {{200, "the key as it now is", JsonBody(Ref("ApiKey"))}, {404, "no such key"}}},
      {"GET",
       "/",
       "The web console (index.html; other non-API paths too)",
       "console",
       {},
       nullptr,
       {{200, "HTML", Json::parse(R"({"text/html":{"schema":{"type":"string"}}})")}}},
      {"GET",
       "/assets/{file}",
       "The console's static files",
       "console",
       {PathParam("file", "file path under /assets/")},
       nullptr,
       {{200, "the file",
         Json::parse(R"({"application/octet-stream":{"schema":{"type":"string"}}})")},
        {404, "no such file"}}},
  };
}

std::string BuildDocument() {
  Json doc = {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "ferry HTTP API"},
        {"version", "1"},
        {"description",
         "The HTTP API of ferry (docs/api.md). Each operation's x-ferry-role is the least role "
         "that may call it: public, viewer, operator or admin."}}},
      {"servers", Json::array({Json::object({{"url", "/"}})})},
      {"security", Json::array({Json::object({{"bearer", Json::array()}})})},
      {"components", Json::parse(kComponents)},
      {"paths", Json::object()},
  };
  std::vector<RouteInfo> routes = Api::Routes();
  for (Operation& op : Operations()) {
    std::string role = "?";  // not served: server_test names it
    for (const RouteInfo& r : routes) {
      if (r.method == op.method && r.path == op.path) role = AccessName(r.access);
    }
    Json responses = Json::object();
    for (Answer& a : op.answers) {
      responses[std::to_string(a.status)] = {{"description", a.description},
                                             {"content", std::move(a.content)}};
    }
    Json operation = {{"summary", op.summary},
                      {"x-ferry-role", role},
                      {"tags", Json::array({std::string(op.tag)})}};
    if (role == "public") {
      operation["security"] = Json::array();
    } else {
      const auto shared = [&](int status, std::string description) {
        responses[std::to_string(status)] = {{"description", std::move(description)},
                                             {"content", JsonBody(Ref("Error"))}};
      };
      shared(401, "missing, unknown, expired or revoked credentials");
      shared(403, "the caller's role is below " + role);
      shared(429, "rate limit of the key reached; see Retry-After");
    }
    operation["responses"] = std::move(responses);
    if (!op.parameters.empty()) operation["parameters"] = std::move(op.parameters);
    if (!op.request_body.is_null()) operation["requestBody"] = std::move(op.request_body);
    std::string method(op.method);
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    doc["paths"][std::string(op.path)][method] = std::move(operation);
  }
  return doc.dump(1);
}

}  // namespace

std::string_view Api::OpenApiDocument() {
  static const std::string document = BuildDocument();
  return document;
}

}  // namespace ferry::server
