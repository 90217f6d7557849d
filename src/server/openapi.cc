// The OpenAPI 3 document of the API (GET /api/v1/openapi.json). Kept by hand beside the route
// table in api.cc; server_test checks that the two list the same routes with the same roles, and
// that every path here is served.
#include "server/api.h"

namespace ferry::server {

std::string_view Api::OpenApiDocument() {
  static constexpr std::string_view kDocument = R"openapi({
 "openapi": "3.0.3",
 "info": {
  "title": "ferry HTTP API",
  "version": "1",
  "description": "The HTTP API of ferry (docs/api.md). Each operation's x-ferry-role is the least role that may call it: public, viewer, operator or admin."
 },
 "servers": [
  {
   "url": "/"
  }
 ],
 "security": [
  {
   "bearer": []
  }
 ],
 "components": {
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key fry_<id>_<secret>, or a session token frs_... from POST /api/v1/session"
   }
  },
  "schemas": {
   "Error": {
    "type": "object",
    "required": [
     "error"
    ],
    "properties": {
     "error": {
      "type": "object",
      "required": [
       "code",
       "message"
      ],
      "properties": {
       "code": {
        "type": "string"
       },
       "message": {
        "type": "string"
       }
      }
     }
    }
   },
   "Status": {
    "type": "object",
    "properties": {
     "status": {
      "type": "string"
     },
     "reason": {
      "type": "string"
     },
     "store": {
      "type": "string"
     },
     "schema_version": {
      "type": "integer"
     }
    }
   },
   "Session": {
    "type": "object",
    "properties": {
     "token": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "role": {
      "type": "string"
     },
     "expires_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     }
    }
   },
   "WhoAmI": {
    "type": "object",
    "properties": {
     "name": {
      "type": "string"
     },
     "role": {
      "type": "string"
     },
     "actor": {
      "type": "string"
     },
     "key_id": {
      "type": "string"
     },
     "session": {
      "type": "boolean"
     },
     "expires_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     }
    }
   },
   "RunSummary": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "state": {
      "type": "string"
     },
     "created_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "updated_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "tasks_total": {
      "type": "integer"
     },
     "tasks_done": {
      "type": "integer"
     }
    }
   },
   "Progress": {
    "type": "object",
    "properties": {
     "rows_done": {
      "type": "integer"
     },
     "rows_total": {
      "type": "integer"
     },
     "bytes_done": {
      "type": "integer"
     },
     "bytes_total": {
      "type": "integer"
     },
     "detail": {
      "type": "string"
     }
    }
   },
   "Task": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "type": {
      "type": "string"
     },
     "phase": {
      "type": "string"
     },
     "state": {
      "type": "string",
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
      ]
     },
     "attempts": {
      "type": "integer"
     },
     "max_attempts": {
      "type": "integer"
     },
     "error": {
      "type": "string"
     },
     "started_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "finished_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "progress": {
      "$ref": "#/components/schemas/Progress"
     },
     "rows_per_second": {
      "type": "number"
     },
     "eta_seconds": {
      "type": "number",
      "nullable": true
     },
     "result": {}
    }
   },
   "Phase": {
    "type": "object",
    "properties": {
     "name": {
      "type": "string"
     },
     "approval": {
      "type": "string"
     },
     "state": {
      "type": "string",
      "enum": [
       "pending",
       "waiting-approval",
       "running",
       "done",
       "failed"
      ]
     },
     "approved_by": {
      "type": "string"
     },
     "approved_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     }
    }
   },
   "Run": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "state": {
      "type": "string",
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
      ]
     },
     "awaiting": {
      "type": "string"
     },
     "error": {
      "type": "string"
     },
     "started_by": {
      "type": "string"
     },
     "created_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "updated_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "rows_done": {
      "type": "integer"
     },
     "bytes_done": {
      "type": "integer"
     },
     "spec_yaml": {
      "type": "string"
     },
     "phases": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Phase"
      }
     },
     "tasks": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Task"
      }
     }
    }
   },
   "Event": {
    "type": "object",
    "properties": {
     "seq": {
      "type": "integer"
     },
     "at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "run_id": {
      "type": "string"
     },
     "actor": {
      "type": "string"
     },
     "kind": {
      "type": "string"
     },
     "payload": {
      "type": "object"
     },
     "hash": {
      "type": "string"
     },
     "prev_hash": {
      "type": "string"
     }
    }
   },
   "EventLogReport": {
    "type": "object",
    "properties": {
     "intact": {
      "type": "boolean"
     },
     "events_checked": {
      "type": "integer"
     },
     "head_hash": {
      "type": "string"
     },
     "first_bad_seq": {
      "type": "integer"
     },
     "problems": {
      "type": "array",
      "items": {
       "type": "string"
      }
     }
    }
   },
   "Project": {
    "type": "object",
    "properties": {
     "name": {
      "type": "string"
     },
     "description": {
      "type": "string"
     },
     "created_by": {
      "type": "string"
     },
     "created_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     }
    }
   },
   "InventorySummary": {
    "type": "object",
    "properties": {
     "name": {
      "type": "string"
     },
     "source_kind": {
      "type": "string"
     },
     "taken_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "saved_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "schema_version": {
      "type": "string"
     },
     "bytes": {
      "type": "integer"
     }
    }
   },
   "PlanSummary": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "created_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "created_by": {
      "type": "string"
     },
     "hosts": {
      "type": "integer"
     },
     "waves": {
      "type": "integer"
     },
     "options": {
      "type": "object"
     }
    }
   },
   "ApiKey": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "role": {
      "type": "string"
     },
     "state": {
      "type": "string",
      "enum": [
       "active",
       "expired",
       "revoked"
      ]
     },
     "created_by": {
      "type": "string"
     },
     "created_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "expires_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "revoked_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     }
    }
   },
   "NewApiKey": {
    "allOf": [
     {
      "$ref": "#/components/schemas/ApiKey"
     },
     {
      "type": "object",
      "properties": {
       "key": {
        "type": "string",
        "description": "fry_<id>_<secret>: shown once"
       }
      }
     }
    ]
   }
  }
 },
 "paths": {
  "/health/live": {
   "get": {
    "summary": "The process answers",
    "x-ferry-role": "public",
    "responses": {
     "200": {
      "description": "alive",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Status"
        }
       }
      }
     }
    },
    "tags": [
     "health"
    ],
    "security": []
   }
  },
  "/health/ready": {
   "get": {
    "summary": "The store is reachable and its schema migrations applied",
    "x-ferry-role": "public",
    "responses": {
     "200": {
      "description": "ready",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Status"
        }
       }
      }
     },
     "503": {
      "description": "not ready",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Status"
        }
       }
      }
     }
    },
    "tags": [
     "health"
    ],
    "security": []
   }
  },
  "/health/deep": {
   "get": {
    "summary": "Status of each component (store, event log, event streams, engine, console)",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "healthy",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "503": {
      "description": "degraded",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "health"
    ]
   }
  },
  "/metrics": {
   "get": {
    "summary": "Prometheus metrics (text exposition format 0.0.4)",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "metrics",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "health"
    ]
   }
  },
  "/api/v1/openapi.json": {
   "get": {
    "summary": "This document",
    "x-ferry-role": "public",
    "responses": {
     "200": {
      "description": "the OpenAPI 3 document",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     }
    },
    "tags": [
     "meta"
    ],
    "security": []
   }
  },
  "/api/v1/session": {
   "post": {
    "summary": "Open a console session with an API key (valid 12 h, never beyond the key's expiry)",
    "x-ferry-role": "public",
    "responses": {
     "200": {
      "description": "the session",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Session"
        }
       }
      }
     },
     "400": {
      "description": "malformed body",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "the key is unknown, expired or revoked",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "too many attempts from this address",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "auth"
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "api_key"
        ],
        "properties": {
         "api_key": {
          "type": "string"
         }
        },
        "additionalProperties": false
       }
      }
     }
    },
    "security": []
   }
  },
  "/api/v1/whoami": {
   "get": {
    "summary": "The caller",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "who",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/WhoAmI"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "auth"
    ]
   }
  },
  "/api/v1/runs": {
   "get": {
    "summary": "Runs, newest first",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "runs",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "runs": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/RunSummary"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "at most this many (1-1000, default 100)",
      "schema": {
       "type": "integer"
      }
     }
    ]
   },
   "post": {
    "summary": "Start a run from its spec (YAML)",
    "x-ferry-role": "operator",
    "responses": {
     "201": {
      "description": "started",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "id": {
           "type": "string"
          }
         }
        }
       }
      }
     },
     "400": {
      "description": "the spec is not valid (the message gives line and column)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below operator",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/yaml": {
       "schema": {
        "type": "string"
       }
      },
      "text/yaml": {
       "schema": {
        "type": "string"
       }
      },
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "spec"
        ],
        "properties": {
         "spec": {
          "type": "string"
         }
        }
       }
      }
     }
    }
   }
  },
  "/api/v1/runs/{id}": {
   "get": {
    "summary": "A run: phases, tasks, progress",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "the run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Run"
        }
       }
      }
     },
     "404": {
      "description": "no such run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/runs/{id}/pause": {
   "post": {
    "summary": "Pause: no new task starts",
    "x-ferry-role": "operator",
    "responses": {
     "200": {
      "description": "the run as it now is",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Run"
        }
       }
      }
     },
     "400": {
      "description": "the run's state does not allow it",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "no such run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below operator",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/runs/{id}/resume": {
   "post": {
    "summary": "Resume a paused run, or retry a failed one",
    "x-ferry-role": "operator",
    "responses": {
     "200": {
      "description": "the run as it now is",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Run"
        }
       }
      }
     },
     "400": {
      "description": "the run's state does not allow it",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "no such run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below operator",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/runs/{id}/cancel": {
   "post": {
    "summary": "Cancel for good (roll back or start anew)",
    "x-ferry-role": "operator",
    "responses": {
     "200": {
      "description": "the run as it now is",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Run"
        }
       }
      }
     },
     "400": {
      "description": "the run's state does not allow it",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "no such run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below operator",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/runs/{id}/rollback": {
   "post": {
    "summary": "Undo the run's tasks in reverse order",
    "x-ferry-role": "operator",
    "responses": {
     "200": {
      "description": "the run as it now is",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Run"
        }
       }
      }
     },
     "400": {
      "description": "the run's state does not allow it",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "no such run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below operator",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/runs/{id}/approve": {
   "post": {
    "summary": "Approve the phase awaiting approval (needs the phase's role)",
    "x-ferry-role": "operator",
    "responses": {
     "200": {
      "description": "the run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Run"
        }
       }
      }
     },
     "400": {
      "description": "that phase is not awaiting approval",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "no such run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below operator",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "phase"
        ],
        "properties": {
         "phase": {
          "type": "string"
         }
        }
       }
      }
     }
    }
   }
  },
  "/api/v1/runs/{id}/tasks": {
   "get": {
    "summary": "The run's tasks",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "tasks",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "tasks": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Task"
           }
          }
         }
        }
       }
      }
     },
     "404": {
      "description": "no such run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/runs/{id}/events": {
   "get": {
    "summary": "The run's events: server-sent events with Accept: text/event-stream (resuming after Last-Event-ID), else JSON",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "events",
      "content": {
       "text/event-stream": {
        "schema": {
         "type": "string"
        }
       },
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "events": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Event"
           }
          }
         }
        }
       }
      }
     },
     "404": {
      "description": "no such run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "after",
      "in": "query",
      "required": false,
      "description": "events after this sequence number",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "at most this many (JSON only; 1-10000)",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "Last-Event-ID",
      "in": "header",
      "required": false,
      "description": "resume after this sequence number",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/runs/{id}/artifacts": {
   "get": {
    "summary": "Files the run's tasks wrote",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "artifacts",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "artifacts": {
           "type": "array",
           "items": {
            "type": "object",
            "properties": {
             "name": {
              "type": "string"
             },
             "size": {
              "type": "integer"
             }
            }
           }
          }
         }
        }
       }
      }
     },
     "404": {
      "description": "no such run",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/runs/{id}/artifacts/{name}": {
   "get": {
    "summary": "One artifact",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "the file",
      "content": {
       "application/octet-stream": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       }
      }
     },
     "404": {
      "description": "no such run or artifact",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "runs"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "run id",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "name",
      "in": "path",
      "required": true,
      "description": "the artifact's name as listed (may contain /)",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/events": {
   "get": {
    "summary": "The whole event log",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "events",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "events": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Event"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "events"
    ],
    "parameters": [
     {
      "name": "after",
      "in": "query",
      "required": false,
      "description": "events after this sequence number",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "at most this many (1-1000, default 100)",
      "schema": {
       "type": "integer"
      }
     }
    ]
   }
  },
  "/api/v1/events/verify": {
   "get": {
    "summary": "Verify the event log's hash chain",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "the report",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/EventLogReport"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "events"
    ]
   }
  },
  "/api/v1/projects": {
   "get": {
    "summary": "Projects",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "projects",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "projects": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Project"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "projects"
    ]
   },
   "post": {
    "summary": "Create a project",
    "x-ferry-role": "operator",
    "responses": {
     "201": {
      "description": "created",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Project"
        }
       }
      }
     },
     "400": {
      "description": "bad name",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "description": "the name is taken",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below operator",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "projects"
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "name"
        ],
        "properties": {
         "name": {
          "type": "string"
         },
         "description": {
          "type": "string"
         }
        }
       }
      }
     }
    }
   }
  },
  "/api/v1/projects/{name}": {
   "get": {
    "summary": "A project",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "the project",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Project"
        }
       }
      }
     },
     "404": {
      "description": "no such project",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "projects"
    ],
    "parameters": [
     {
      "name": "name",
      "in": "path",
      "required": true,
      "description": "project name",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/inventories": {
   "get": {
    "summary": "Host inventories saved in the store",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "inventories",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "inventories": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/InventorySummary"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "plans"
    ]
   }
  },
  "/api/v1/inventories/{name}": {
   "get": {
    "summary": "One inventory document (docs/inventory.schema.json)",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "the inventory",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "404": {
      "description": "no such inventory",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "plans"
    ],
    "parameters": [
     {
      "name": "name",
      "in": "path",
      "required": true,
      "description": "host name",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/plans": {
   "get": {
    "summary": "Plans, newest first",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "plans",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "plans": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/PlanSummary"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "plans"
    ],
    "parameters": [
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "at most this many (1-1000, default 100)",
      "schema": {
       "type": "integer"
      }
     }
    ]
   },
   "post": {
    "summary": "Plan the store's inventories (as `ferry plan --from-store --json`)",
    "x-ferry-role": "operator",
    "responses": {
     "201": {
      "description": "made",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "id": {
           "type": "string"
          },
          "hosts": {
           "type": "integer"
          },
          "waves": {
           "type": "integer"
          }
         }
        }
       }
      }
     },
     "400": {
      "description": "bad options, or no inventory in the store",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below operator",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "plans"
    ],
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "max_wave_size": {
          "type": "integer"
         },
         "percentile": {
          "type": "integer"
         },
         "comfort": {
          "type": "number"
         },
         "regions": {
          "type": "object",
          "additionalProperties": {
           "type": "string"
          }
         },
         "date": {
          "type": "string",
          "format": "date"
         }
        },
        "additionalProperties": false
       }
      }
     }
    }
   }
  },
  "/api/v1/plans/{id}": {
   "get": {
    "summary": "A plan, as `ferry plan --json` writes it",
    "x-ferry-role": "viewer",
    "responses": {
     "200": {
      "description": "the plan",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "404": {
      "description": "no such plan",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below viewer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "plans"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "plan id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/api/v1/keys": {
   "get": {
    "summary": "API keys (never their secrets)",
    "x-ferry-role": "admin",
    "responses": {
     "200": {
      "description": "keys",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "keys": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/ApiKey"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below admin",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "auth"
    ]
   },
   "post": {
    "summary": "Create an API key; `key` is shown this once",
    "x-ferry-role": "admin",
    "responses": {
     "201": {
      "description": "created",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/NewApiKey"
        }
       }
      }
     },
     "400": {
      "description": "bad name, role or expiry",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "description": "a key in force has that name",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below admin",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "auth"
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "name",
         "role"
        ],
        "properties": {
         "name": {
          "type": "string"
         },
         "role": {
          "type": "string",
          "enum": [
           "viewer",
           "operator",
           "admin"
          ]
         },
         "expires_in_days": {
          "type": "integer",
          "description": "default 90; 0: never"
         }
        }
       }
      }
     }
    }
   }
  },
  "/api/v1/keys/{id}": {
   "delete": {
    "summary": "Revoke a key (and end its sessions)",
    "x-ferry-role": "admin",
    "responses": {
     "200": {
      "description": "the key as it now is",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ApiKey"
        }
       }
      }
     },
     "404": {
      "description": "no such key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing, unknown, expired or revoked credentials",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the caller's role is below admin",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "429": {
      "description": "rate limit of the key reached; see Retry-After",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "auth"
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "key id (the 16 hex digits after fry_)",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/": {
   "get": {
    "summary": "The web console (index.html; other non-API paths too)",
    "x-ferry-role": "public",
    "responses": {
     "200": {
      "description": "HTML",
      "content": {
       "text/html": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    },
    "tags": [
     "console"
    ],
    "security": []
   }
  },
  "/assets/{file}": {
   "get": {
    "summary": "The console's static files",
    "x-ferry-role": "public",
    "responses": {
     "200": {
      "description": "the file",
      "content": {
       "application/octet-stream": {
        "schema": {
         "type": "string"
        }
       }
      }
     },
     "404": {
      "description": "no such file",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "tags": [
     "console"
    ],
    "parameters": [
     {
      "name": "file",
      "in": "path",
      "required": true,
      "description": "file path under /assets/",
      "schema": {
       "type": "string"
      }
     }
    ],
    "security": []
   }
  }
 }
})openapi";
  return kDocument;
}

}  // namespace ferry::server
