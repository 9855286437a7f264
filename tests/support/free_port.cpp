#include "support/free_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tandem::testing {
namespace {

// Binds `fd` to a loopback port the kernel picks (port 0); the port, or -1.
int BindAnyLoopbackPort(int fd) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    return -1;
  }
  return ntohs(addr.sin_port);
}

}  // namespace

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int port = BindAnyLoopbackPort(fd);
  close(fd);
  return port;
}

RefusingLoopbackPort::RefusingLoopbackPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
  if (fd_ >= 0) port_ = BindAnyLoopbackPort(fd_);
}

RefusingLoopbackPort::~RefusingLoopbackPort() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace tandem::testing
