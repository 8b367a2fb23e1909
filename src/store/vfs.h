/*
 * vfs: the SQLite VFS the store opens its database with - the system's own, except that the
 * WAL's appends are written with one system call per commit instead of two per page. The store
 * must run with synchronous=FULL and checkpoint_fullfsync=ON: every commit then syncs the WAL,
 * which is when the gathered frames are written, and every_commit decides whether such a sync
 * reaches the disk (durability full) or only a checkpoint's does (durability normal, the same
 * guarantees as SQLite's synchronous=NORMAL in WAL mode). The database file is wrapped too: when
 * its connection releases the WAL's write lock, frames a rolled-back transaction left waiting
 * are dropped, never written over another connection's commits.
 */
#ifndef SKED_STORE_VFS_H
#define SKED_STORE_VFS_H

#include <sqlite3.h>
#include <stdbool.h>

/* The name of the VFS to open with (registered on first use), or NULL when it cannot be
 * registered (the system VFS is used then, with SQLite's own synchronous settings). */
const char *store_vfs(bool every_commit);

#endif
