// Loopback TCP ports for tests: one a test server can listen on, and one that refuses.
#pragma once

namespace tandem::testing {

// A port on 127.0.0.1 that was free a moment ago (the caller's server binds it right after, and
// may still lose a race for it), or -1 when none could be found.
int FreeLoopbackPort();

// A port on 127.0.0.1 bound but never listening for this object's lifetime: connections to it
// are refused at once, and no other test can take it meanwhile.
class RefusingLoopbackPort {
 public:
  RefusingLoopbackPort();
  ~RefusingLoopbackPort();
  RefusingLoopbackPort(const RefusingLoopbackPort&) = delete;
  RefusingLoopbackPort& operator=(const RefusingLoopbackPort&) = delete;

  int port() const { return port_; }  // -1 when no port could be bound.

 private:
  int fd_ = -1;
  int port_ = -1;
};

}  // namespace tandem::testing
