// A loopback TCP port for a test server to listen on.
#pragma once

namespace tandem::testing {

// A port on 127.0.0.1 that was free a moment ago (the caller's server binds it right after, and
// may still lose a race for it), or -1 when none could be found.
int FreeLoopbackPort();

}  // namespace tandem::testing
