#pragma once
// The service manager's notification protocol (sd_notify(3)) without libsystemd.
//
// systemd starts a `Type=notify` service with NOTIFY_SOCKET naming a unix datagram socket
// (a path, or "@name" for Linux's abstract namespace); the service sends newline-separated
// KEY=VALUE assignments to it as one datagram. systemd considers the unit started only on
// READY=1, shows STATUS= in `systemctl status`, and, when the unit sets WatchdogSec=, passes
// WATCHDOG_USEC (and WATCHDOG_PID) and restarts the service if WATCHDOG=1 does not arrive
// within that interval.
//
// When NOTIFY_SOCKET is unset (the foreground, a test, another supervisor) every function
// here does nothing and returns ok, so callers need no "are we under systemd" branch. A send
// that fails is returned as an error for the caller to log; it is never fatal: the service
// manager may be restarting, and serving matters more than reporting.
//
// Thread-safe (no state: each call opens, sends and closes its own socket). Meant for the
// control thread; a watchdog ping from there also proves that the control loop still turns.

#include <cstdint>
#include <string_view>

#include "core/base/status.h"

namespace gh::server {

// Sends `state` ("READY=1\nSTATUS=..." ) as one datagram to $NOTIFY_SOCKET. Ok when sent or
// when NOTIFY_SOCKET is unset; an error when it is set but unusable (unsupported address,
// socket gone, permission).
Status notify(std::string_view state);

// True when NOTIFY_SOCKET is set: someone listens for these messages.
bool notifyEnabled();

// READY=1 with an optional STATUS= line: configuration loaded, listeners open, serving.
// Also sent after a reload (RELOADING=1 ... READY=1).
Status notifyReady(std::string_view status = {});

// RELOADING=1 (with MONOTONIC_USEC=, which systemd 253+ wants for Type=notify-reload): the
// service re-reads its configuration; READY=1 must follow when done.
Status notifyReloading(std::string_view status = {});

// STOPPING=1: draining has begun; systemd waits for the process to exit.
Status notifyStopping(std::string_view status = {});

// STATUS=<text>: a one-line description shown by `systemctl status`. Newlines are replaced by
// spaces (a newline would start a new assignment).
Status notifyStatus(std::string_view status);

// WATCHDOG=1: "still alive". Send every watchdogIntervalMs().
Status notifyWatchdog();

// How often to send WATCHDOG=1, in milliseconds: half of $WATCHDOG_USEC (as sd_watchdog_enabled
// advises), at least 1; 0 when no watchdog is configured, when WATCHDOG_USEC is not a positive
// number, or when WATCHDOG_PID is set and names another process.
uint64_t watchdogIntervalMs();

}  // namespace gh::server
