#include "core/identity/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gh::identity {
namespace {

Status errnoStatus(const std::string& path) {
  return Status::error(path + ": " + strerror(errno));
}

std::string parentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<std::string> readFd(int fd, const std::string& path) {
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = errnoStatus(path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

Status makePrivateDir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status::error(dir + ": not a directory");
    return okStatus();
  }
  std::string parent = parentOf(dir);
  if (parent != dir && ::stat(parent.c_str(), &st) != 0) {
    Status s = makePrivateDir(parent);
    if (!s.ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errnoStatus(dir);
  return okStatus();
}

Status writeFileAtomic(const std::string& path, std::string_view content, unsigned mode,
                       bool replace) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return errnoStatus(tmp);
  // fchmod before any byte is written: the umask must not widen (or narrow) the result.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t off = 0;
  while (ok && off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      ok = false;
    else
      off += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  Status failed = ok ? okStatus() : errnoStatus(tmp);
  ::close(fd);
  if (ok && replace && ::rename(tmp.c_str(), path.c_str()) != 0) {
    failed = errnoStatus(path);
    ok = false;
  }
  if (ok && !replace) {
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      failed = errno == EEXIST ? Status::error(path + ": already exists") : errnoStatus(path);
      ok = false;
    }
    ::unlink(tmp.c_str());
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return failed;
  }
  // The rename is durable once the directory is synced.
  int dfd = ::open(parentOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return okStatus();
}

Result<std::string> readWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoStatus(path);
  return readFd(fd, path);
}

Result<std::string> readPrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errnoStatus(path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = errnoStatus(path);
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error(path + ": not a regular file");
  }
  if (st.st_mode & 077) {
    ::close(fd);
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::error(path + ": mode " + mode +
                         " lets group or others read a private key; refusing it (it must be 0600)");
  }
  return readFd(fd, path);
}

bool fileExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace gh::identity
