#ifndef CARAVAN_CDIRECTORYENTRIES_SHIM_H
#define CARAVAN_CDIRECTORYENTRIES_SHIM_H
#include <sys/syscall.h>
#include <unistd.h>

/// Linux's getdents64(2): the entries of the open directory `fd`, packed as
/// `struct linux_dirent64` records into `buffer`; 0 at the end, -1 with errno.
/// Swift cannot call the variadic `syscall`, and Glibc's wrapper is not in
/// Swift's Glibc module.
static inline long caravan_getdents64(int fd, void *buffer, unsigned long length) {
    return syscall(SYS_getdents64, fd, buffer, length);
}
#endif
