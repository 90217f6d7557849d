// A fixed set of worker threads running submitted tasks in FIFO order.
//
//   ThreadPool pool(4);
//   std::future<Result<int64_t>> rows = pool.Submit([&] { return CopyChunk(chunk); });
//
// Thread-safety: Submit and Wait may be called from any thread, Submit also from inside a
// task. Wait must not be called from inside a task of the same pool (it would wait for itself).
// Not promised: any order of completion, or that a task runs on a particular thread.
#ifndef FERRY_BASE_THREAD_POOL_H_
#define FERRY_BASE_THREAD_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace ferry {

class ThreadPool {
 public:
  // Starts `threads` workers; 0 is taken as 1.
  explicit ThreadPool(size_t threads);
  // Runs every task submitted, including those that tasks submit while it drains, then joins
  // the workers. No other thread may call Submit once it has started.
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `f` (moved or copied into the pool) and returns a future for its result. An exception
  // thrown by `f` is stored in the future and rethrown by get(); it never reaches the worker,
  // and is lost if the future is dropped.
  template <class F>
  auto Submit(F&& f) -> std::future<std::invoke_result_t<std::decay_t<F>&>> {
    std::packaged_task<std::invoke_result_t<std::decay_t<F>&>()> task(std::forward<F>(f));
    auto future = task.get_future();
    Enqueue(std::move(task));
    return future;
  }

  // Blocks until the queue is empty and every worker is idle. Tasks submitted meanwhile (by
  // other threads or by tasks) are waited for too.
  void Wait();

  size_t size() const { return workers_.size(); }

 private:
  void Enqueue(std::move_only_function<void()> task);
  void WorkerLoop();

  std::mutex mu_;
  std::condition_variable work_ready_;  // a task was queued, or the pool is stopping
  std::condition_variable idle_;        // the queue drained and the last busy worker finished
  std::deque<std::move_only_function<void()>> queue_;  // GUARDED_BY(mu_)
  size_t busy_ = 0;                                    // GUARDED_BY(mu_)
  bool stopping_ = false;                              // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
};

}  // namespace ferry

#endif  // FERRY_BASE_THREAD_POOL_H_
