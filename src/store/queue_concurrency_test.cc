// The work queue under load and failure: 8 workers claim 20,000 tasks from one queue while
// workers crash (killed processes, abandoned leases) and stall past their leases. Every task
// must complete exactly once and none may be lost.
//
// SQLite: 8 threads sharing one Store. PostgreSQL: 8 separate processes, each with its own
// connection, killed with SIGKILL at random moments and replaced.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/env.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace ferry {
namespace {

constexpr int kTasks = 20'000;
constexpr int kWorkers = 8;
constexpr std::string_view kQueue = "chunks";

Status EnqueueAll(Store& store) {
  std::vector<TaskSpec> specs;
  specs.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    specs.push_back({.queue = std::string(kQueue),
                     .kind = "copy-chunk",
                     .payload = fmt::format("{}", i),
                     .max_attempts = 1000});
  }
  auto ids = store.EnqueueBatch(specs);
  if (!ids.has_value()) return ids.error();
  return OkStatus();
}

// Waits until every task is done; fails if progress stops for `stall_limit`.
void ExpectAllDone(Store& store, std::chrono::seconds stall_limit) {
  int64_t last_done = -1;
  auto last_progress = std::chrono::steady_clock::now();
  for (;;) {
    auto stats = store.GetQueueStats(kQueue);
    ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
    if (stats->done == kTasks) break;
    ASSERT_EQ(stats->failed, 0);
    if (stats->done != last_done) {
      last_done = stats->done;
      last_progress = std::chrono::steady_clock::now();
    }
    ASSERT_LT(std::chrono::steady_clock::now() - last_progress, stall_limit)
        << "no progress: " << stats->done << " done, " << stats->pending << " pending, "
        << stats->leased << " leased";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TEST(QueueConcurrencyTest, SqliteThreadsWithCrashesCompleteEveryTaskExactlyOnce) {
  auto location = testing::StoreLocation::Create("sqlite", "queue_concurrency");
  ASSERT_TRUE(location.has_value()) << location.error().ToString();
  auto opened = Store::Open((*location)->url());
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  Store& store = **opened;
  ASSERT_TRUE(EnqueueAll(store).ok());

  std::vector<std::atomic<int>> completions(kTasks);
  std::atomic<int> crashes{0};
  std::atomic<int> fenced{0};
  std::atomic<bool> stop{false};

  // One worker's life: claims batches and completes them until it "crashes" (walks away from
  // the tasks it holds, which stay leased until their lease expires) or the queue is drained.
  auto work = [&](int worker_number, unsigned seed) {
    std::mt19937 rng(seed);
    const std::string name = fmt::format("w{}-{}", worker_number, seed);
    while (!stop.load()) {
      auto claimed = store.Claim(kQueue, {.worker = name, .lease_micros = 200'000, .max_tasks = 4});
      ASSERT_TRUE(claimed.has_value()) << claimed.error().ToString();
      if (claimed->empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      for (const Task& task : *claimed) {
        const int dice = static_cast<int>(rng() % 2000);
        if (dice == 0) {  // crash: abandon every task still held
          ++crashes;
          return;
        }
        if (dice == 1) {  // stall past the lease, then try to finish anyway
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }
        Status done = store.Complete(task, name);
        if (done.ok()) {
          completions[std::stoi(task.payload)].fetch_add(1);
        } else {
          ASSERT_EQ(done.code(), StatusCode::kAborted) << done.ToString();
          ++fenced;
        }
      }
    }
  };

  // A supervisor keeps kWorkers alive: a crashed worker is replaced, as a process manager
  // would replace a crashed process.
  std::vector<std::unique_ptr<std::atomic<bool>>> alive;
  std::vector<std::thread> pool;
  for (int n = 0; n < kWorkers; ++n) {
    alive.push_back(std::make_unique<std::atomic<bool>>(true));
    pool.emplace_back([&, n] {
      work(n, static_cast<unsigned>(1000 * n));
      alive[n]->store(false);
    });
  }
  int replacements = 0;
  std::thread supervisor([&] {
    while (!stop.load()) {
      for (int n = 0; n < kWorkers; ++n) {
        if (!alive[n]->load()) {
          pool[n].join();
          alive[n]->store(true);
          const unsigned seed = static_cast<unsigned>(1000 * n + ++replacements);
          pool[n] = std::thread([&, n, seed] {
            work(n, seed);
            alive[n]->store(false);
          });
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });

  ExpectAllDone(store, std::chrono::seconds(60));
  stop.store(true);
  supervisor.join();
  for (auto& t : pool) t.join();

  for (int i = 0; i < kTasks; ++i) {
    ASSERT_EQ(completions[i].load(), 1) << "task payload " << i;
  }
  auto stats = store.GetQueueStats(kQueue);
  EXPECT_EQ(stats->done, kTasks);
  EXPECT_EQ(stats->total(), kTasks);
  EXPECT_GT(crashes.load(), 0) << "the test must exercise crashes";
  RecordProperty("crashes", crashes.load());
  RecordProperty("fenced_completions", fenced.load());
}

// A worker process: claims and completes until the queue is empty, appending the payload of
// each task it completed to `log_path` (one write(2) per line, so lines survive SIGKILL).
[[noreturn]] void WorkerProcess(const std::string& url, const std::string& log_path, int number) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (log < 0) _exit(10);
  auto opened = Store::Open(url, {.max_connections = 1});
  if (!opened.has_value()) _exit(11);
  Store& store = **opened;
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  const std::string name = fmt::format("proc{}-{}", number, getpid());
  int idle_rounds = 0;
  for (;;) {
    auto claimed = store.Claim(kQueue, {.worker = name, .lease_micros = 500'000, .max_tasks = 4});
    if (!claimed.has_value()) _exit(12);
    if (claimed->empty()) {
      if (++idle_rounds > 400) _exit(0);  // about 4 s with nothing to claim: the queue is drained
      usleep(10'000);
      continue;
    }
    idle_rounds = 0;
    for (const Task& task : *claimed) {
      if (rng() % 3000 == 0) usleep(700'000);  // stall past the lease
      Status done = store.Complete(task, name);
      if (done.ok()) {
        std::string line = task.payload + "\n";
        if (write(log, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(13);
      } else if (done.code() != StatusCode::kAborted) {
        _exit(14);
      }
    }
  }
}

TEST(QueueConcurrencyTest, PostgresProcessesKilledAtRandomCompleteEveryTaskExactlyOnce) {
  auto location = testing::StoreLocation::Create("postgresql", "queue_processes");
  ASSERT_TRUE(location.has_value()) << location.error().ToString();
  const std::string url = (*location)->url();
  {
    auto opened = Store::Open(url);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    ASSERT_TRUE(EnqueueAll(**opened).ok());
  }
  char dir_pattern[] = "/tmp/ferry-queue-procs-XXXXXX";
  ASSERT_NE(mkdtemp(dir_pattern), nullptr);
  const std::string dir = dir_pattern;

  std::mt19937 rng(20261123);
  std::vector<pid_t> workers(kWorkers, -1);
  int spawned = 0;
  auto spawn = [&](int n) {
    const std::string log_path = fmt::format("{}/worker-{}.log", dir, spawned++);
    pid_t pid = fork();
    if (pid == 0) WorkerProcess(url, log_path, n);
    workers[n] = pid;
  };
  for (int n = 0; n < kWorkers; ++n) spawn(n);

  auto opened = Store::Open(url, {.max_connections = 1});
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  Store& store = **opened;
  int kills = 0;
  constexpr int kMaxKills = 12;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  // Kill k happens once k/(kMaxKills+1) of the tasks are done, at a random moment within that
  // stretch: spread over the whole run however fast the machine is.
  auto kill_due = [&](int k, int64_t done) { return done >= kTasks * (k + 1) / (kMaxKills + 1); };
  for (;;) {
    auto stats = store.GetQueueStats(kQueue);
    ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
    while (kills < kMaxKills && kill_due(kills, stats->done)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
      const int victim = static_cast<int>(rng() % kWorkers);
      kill(workers[victim], SIGKILL);
      waitpid(workers[victim], nullptr, 0);
      ++kills;
      spawn(victim);
    }
    if (stats->done == kTasks) break;
    ASSERT_EQ(stats->failed, 0);
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << stats->done << " done";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (int n = 0; n < kWorkers; ++n) {  // a worker that exited on its own is an error
      int status = 0;
      if (waitpid(workers[n], &status, WNOHANG) == workers[n]) {
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << "worker exited with status " << status;
        spawn(n);
      }
    }
  }
  for (pid_t pid : workers) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }

  std::map<int, int> completions;
  int64_t lines = 0;
  for (int i = 0; i < spawned; ++i) {
    auto text = Env::Default()->ReadFile(fmt::format("{}/worker-{}.log", dir, i));
    ASSERT_TRUE(text.has_value());
    size_t start = 0;
    for (size_t end = text->find('\n'); end != std::string::npos; end = text->find('\n', start)) {
      ++completions[std::stoi(text->substr(start, end - start))];
      ++lines;
      start = end + 1;
    }
  }
  ASSERT_TRUE(Env::Default()->RemoveAll(dir).ok());
  for (const auto& [payload, count] : completions) {
    ASSERT_EQ(count, 1) << "task payload " << payload << " completed " << count << " times";
  }
  // A process killed between its commit and its log write loses at most one line.
  EXPECT_GE(lines, kTasks - kills);
  auto stats = store.GetQueueStats(kQueue);
  EXPECT_EQ(stats->done, kTasks);
  EXPECT_EQ(stats->total(), kTasks);
  EXPECT_EQ(kills, kMaxKills);
}

}  // namespace
}  // namespace ferry
