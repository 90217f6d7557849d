// Identifiers for runs, chunks, events and workers.
//
// NewId gives ULIDs (github.com/ulid/spec): a 48-bit millisecond Unix timestamp and 80 random
// bits, written as 26 characters of Crockford's base32, so ids sort by creation time as plain
// strings. Within one process they are strictly increasing: when a new id would not sort after
// the previous one (same millisecond, or the wall clock stepped back) it is the previous id
// plus one, in the spirit of the spec's monotonic variant. Across processes, ids of different
// milliseconds sort by time; within a millisecond their order is random.
//
// Thread-safety: both functions may be called from any thread.
#ifndef FERRY_BASE_IDS_H_
#define FERRY_BASE_IDS_H_

#include <string>
#include <string_view>

namespace ferry {

// "<prefix>_<ULID>", e.g. NewId("run") == "run_01JD2Q8Z3K5V7W9X0Y1Z2A3B4C"; just the ULID when
// `prefix` is empty. The randomness comes from OpenSSL's RAND_bytes; if it fails the process
// aborts, since nothing that needs unguessable ids can go on safely.
std::string NewId(std::string_view prefix);

// "<hostname>:<pid>:<8 random hex digits>", naming one worker in leases and logs. Each call
// returns a new id: call it once per worker.
std::string HostWorkerId();

// Whether the worker named by a HostWorkerId() id ran on this host in a process that is gone
// (killed, crashed, exited; a zombie not reaped yet counts as gone). False for other hosts, for
// this process, and for ids that are not HostWorkerId()'s: only a supervisor on the worker's own
// host can know.
bool WorkerProcessGone(std::string_view worker_id);

}  // namespace ferry

#endif  // FERRY_BASE_IDS_H_
