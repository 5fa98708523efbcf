#include "core/event/loop.h"

#include <event2/event.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>

#include "core/base/log.h"

namespace gh::event {

namespace {

// libevent's own messages (evdns: "Nameserver ... has failed") go to our log, not to stderr
// unformatted: warnings as warnings, the rest at debug level.
void libeventLog(int severity, const char* msg) {
  if (severity >= EVENT_LOG_WARN)
    LOG_WARN("libevent: %s", msg);
  else
    LOG_DEBUG("libevent: %s", msg);
}

// event_new fails only when malloc does; a timer or watcher without its event would never
// fire (a connection that never times out), so that is fatal, as any other allocation failure.
struct event* newEvent(struct event_base* base, int fd, short what, event_callback_fn cb,
                       void* arg) {
  struct event* ev = event_new(base, fd, what, cb, arg);
  if (!ev) {
    LOG_ERROR("out of memory (libevent event)");
    abort();
  }
  return ev;
}

}  // namespace

Loop::Loop() {
  static const bool logRouted = (event_set_log_callback(&libeventLog), true);
  (void)logRouted;
  event_config* cfg = event_config_new();
  // Workers are single-threaded by construction; libevent's own locking would only cost.
  event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
  // Coalesce add/del of the same fd within one iteration into one epoll_ctl (back-pressure
  // toggles reads often).
  event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  base_ = event_base_new_with_config(cfg);
  event_config_free(cfg);
  if (!base_) {
    LOG_ERROR("event_base_new failed");
    std::abort();
  }
  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd_ < 0) {
    LOG_ERROR("eventfd failed");
    std::abort();
  }
  wakeEvent_ = event_new(base_, wakeFd_, EV_READ | EV_PERSIST, &Loop::onWake, this);
  event_add(wakeEvent_, nullptr);
}

Loop::~Loop() {
  event_free(wakeEvent_);
  close(wakeFd_);
  event_base_free(base_);
}

void Loop::run() { event_base_dispatch(base_); }
void Loop::stop() { event_base_loopbreak(base_); }

void Loop::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  uint64_t one = 1;
  ssize_t n = write(wakeFd_, &one, sizeof one);
  (void)n;  // EAGAIN means the counter is already non-zero: a wake-up is pending anyway
}

void Loop::onWake(int fd, short, void* arg) {
  auto* self = static_cast<Loop*>(arg);
  uint64_t count;
  ssize_t n = read(fd, &count, sizeof count);
  (void)n;
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    tasks.swap(self->tasks_);
  }
  for (auto& t : tasks) t();
}

uint64_t Loop::nowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

const timeval* Loop::timeoutFor(uint64_t ms) {
  for (auto& [d, tv] : common_)
    if (d == ms) return tv;
  if (common_.size() >= 32) return nullptr;
  timeval t{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  const timeval* tv = event_base_init_common_timeout(base_, &t);
  if (!tv) return nullptr;
  common_.emplace_back(ms, tv);
  return tv;
}

// --- Timer ---------------------------------------------------------------------------------

// The libevent event is made on the first arm(): a connection carries several timers that most
// of its life never fire or are never armed at all (an exchange's request timeout when none is
// configured, the upstream connect timeout while pooled connections are reused), and an idle
// keep-alive connection should not pay ~150 bytes of heap for each of them.
Timer::Timer(Loop& loop, Callback cb, void* arg) : loop_(loop), ev_(nullptr), cb_(cb), arg_(arg) {}
Timer::~Timer() {
  if (ev_) event_free(ev_);
}

void Timer::arm(uint64_t ms, bool commonDuration) {
  const timeval* tv = commonDuration ? loop_.timeoutFor(ms) : nullptr;
  timeval t;
  if (!tv) {
    t = {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    tv = &t;
  }
  if (!ev_) ev_ = newEvent(loop_.base(), -1, 0, &Timer::fire, this);
  event_add(ev_, tv);
  armed_ = true;
}
void Timer::disarm() {
  event_del(ev_);
  armed_ = false;
}
void Timer::fire(int, short, void* arg) {
  auto* t = static_cast<Timer*>(arg);
  t->armed_ = false;
  t->cb_(t->arg_);
}

// --- Deadline ------------------------------------------------------------------------------

void Deadline::set(uint64_t ms) {
  uint64_t now = Loop::nowMs();
  deadline_ = now + ms;
  if (wakeAt_ == 0 || wakeAt_ > deadline_) {
    timer_.arm(ms);
    wakeAt_ = deadline_;
  }
}

void Deadline::fire(void* arg) {
  auto* d = static_cast<Deadline*>(arg);
  d->wakeAt_ = 0;
  if (d->deadline_ == 0) return;
  uint64_t now = Loop::nowMs();
  if (now < d->deadline_) {
    d->timer_.arm(d->deadline_ - now, /*commonDuration=*/false);
    d->wakeAt_ = d->deadline_;
    return;
  }
  d->deadline_ = 0;
  d->cb_(d->arg_);
}

// --- IoWatcher -----------------------------------------------------------------------------

// The write event is made the first time the watcher waits for writability: most writes
// complete at once, and a connection that never backs up (every idle keep-alive connection)
// does not carry a second event.
IoWatcher::IoWatcher(Loop& loop, int fd, Callback cb, void* arg)
    : fd_(fd), base_(loop.base()), wev_(nullptr), cb_(cb), arg_(arg) {
  rev_ = newEvent(base_, fd, EV_READ | EV_PERSIST, &IoWatcher::fire, this);
}
IoWatcher::~IoWatcher() {
  event_free(rev_);
  if (wev_) event_free(wev_);
}
void IoWatcher::setRead(bool on) {
  reading_ = on;
  if (on) event_add(rev_, nullptr);
  else event_del(rev_);
}
void IoWatcher::setWrite(bool on) {
  writing_ = on;
  if (on) {
    if (!wev_) wev_ = newEvent(base_, fd_, EV_WRITE | EV_PERSIST, &IoWatcher::fire, this);
    event_add(wev_, nullptr);
  } else if (wev_) {
    event_del(wev_);
  }
}
void IoWatcher::fire(int, short what, void* arg) {
  auto* w = static_cast<IoWatcher*>(arg);
  w->cb_(w->arg_, what & (EV_READ | EV_WRITE));
}

// --- SignalWatcher -------------------------------------------------------------------------

SignalWatcher::SignalWatcher(Loop& loop, int signo, Callback cb, void* arg)
    : signo_(signo), cb_(cb), arg_(arg) {
  ev_ = evsignal_new(loop.base(), signo, &SignalWatcher::fire, this);
  evsignal_add(ev_, nullptr);
}
SignalWatcher::~SignalWatcher() { event_free(ev_); }
void SignalWatcher::fire(int signo, short, void* arg) {
  auto* s = static_cast<SignalWatcher*>(arg);
  s->cb_(s->arg_, signo);
}

}  // namespace gh::event
