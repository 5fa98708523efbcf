#pragma once
// Loop: one event loop (a libevent event_base) driven by exactly one thread.
//
// Every worker owns one Loop and so does the control thread. All objects that register with a
// Loop (IoWatcher, Timer) must be created, used and destroyed on that loop's thread; the only
// thing another thread may do is post() a task. This is what makes workers shared-nothing:
// no per-request state is ever touched by two threads.
//
// Callbacks are plain function pointers with a context argument, not std::function: they are
// armed on every request and must not allocate.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

struct event_base;
struct event;

namespace gh::event {

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until stop() is called from a callback on this loop.
  void run();
  void stop();

  // Thread-safe: queues `task` to run on this loop's thread, in posting order.
  void post(std::function<void()> task);

  // Monotonic milliseconds, cheap (coarse clock; ~1-4 ms resolution).
  static uint64_t nowMs();

  struct event_base* base() { return base_; }

 private:
  friend class Timer;
  static void onWake(int fd, short what, void* arg);
  const struct timeval* timeoutFor(uint64_t ms);

  struct event_base* base_ = nullptr;
  struct event* wakeEvent_ = nullptr;
  int wakeFd_ = -1;
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;
  // Durations seen so far, registered as libevent "common timeouts" (O(1) insertion for the
  // thousands of connection timers that share a duration).
  std::vector<std::pair<uint64_t, const struct timeval*>> common_;
};

// A one-shot timer; arm() again to re-arm (replaces the pending deadline).
class Timer {
 public:
  using Callback = void (*)(void* arg);
  Timer(Loop& loop, Callback cb, void* arg);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // `commonDuration`: the duration recurs (an idle timeout, a configured timeout) and may use
  // libevent's O(1) common-timeout queues; one-off durations should pass false so they do not
  // take up the loop's few common-timeout slots.
  void arm(uint64_t ms, bool commonDuration = true);
  void cancel() {
    if (armed_) disarm();  // most cancels find nothing armed: skip libevent entirely
  }
  bool armed() const { return armed_; }
  // What the callback is given from now on; only while not armed (an object recycled for a
  // new owner).
  void setArg(void* arg) { arg_ = arg; }

 private:
  static void fire(int, short, void* arg);
  void disarm();
  Loop& loop_;
  struct event* ev_;  // made on the first arm()
  Callback cb_;
  void* arg_;
  bool armed_ = false;
};

// A deadline that moves often — an idle timeout pushed back on every request. set() only
// stores the new deadline and touches the event loop when no wake-up is pending or the pending
// one is later than the new deadline; a wake-up that comes early re-arms for the rest. So a
// keep-alive request costs a store, not a timer-heap update.
class Deadline {
 public:
  using Callback = void (*)(void* arg);
  Deadline(Loop& loop, Callback cb, void* arg)
      : timer_(loop, &Deadline::fire, this), cb_(cb), arg_(arg) {}

  void set(uint64_t ms);  // fire `ms` milliseconds from now (replaces any earlier setting)
  void clear() { deadline_ = 0; }
  bool pending() const { return deadline_ != 0; }

 private:
  static void fire(void* arg);
  Timer timer_;
  Callback cb_;
  void* arg_;
  uint64_t deadline_ = 0;  // monotonic ms; 0 = none
  uint64_t wakeAt_ = 0;    // when the armed timer fires; 0 = not armed
};

// Readiness of one file descriptor (level-triggered, persistent). The watcher does not own the
// fd. Enabling an already enabled direction is free (no syscall, no libevent call).
class IoWatcher {
 public:
  enum : short { kRead = 0x02, kWrite = 0x04 };  // same values as libevent's EV_READ/EV_WRITE
  using Callback = void (*)(void* arg, short what);
  IoWatcher(Loop& loop, int fd, Callback cb, void* arg);
  ~IoWatcher();
  IoWatcher(const IoWatcher&) = delete;
  IoWatcher& operator=(const IoWatcher&) = delete;

  void enableRead() { if (!reading_) setRead(true); }
  void disableRead() { if (reading_) setRead(false); }
  void enableWrite() { if (!writing_) setWrite(true); }
  void disableWrite() { if (writing_) setWrite(false); }
  bool reading() const { return reading_; }
  bool writing() const { return writing_; }
  int fd() const { return fd_; }

 private:
  static void fire(int fd, short what, void* arg);
  void setRead(bool on);
  void setWrite(bool on);
  int fd_;
  struct event_base* base_;
  struct event* rev_;
  struct event* wev_;  // made on the first enableWrite()
  Callback cb_;
  void* arg_;
  bool reading_ = false;
  bool writing_ = false;
};

// Runs a callback on POSIX signals, on the loop's thread (libevent's self-pipe).
class SignalWatcher {
 public:
  using Callback = void (*)(void* arg, int signo);
  SignalWatcher(Loop& loop, int signo, Callback cb, void* arg);
  ~SignalWatcher();

 private:
  static void fire(int signo, short, void* arg);
  struct event* ev_;
  int signo_;
  Callback cb_;
  void* arg_;
};

}  // namespace gh::event
