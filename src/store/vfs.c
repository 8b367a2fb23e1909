/* vfs: the SQLite VFS of sked's stores - the system's own, with the WAL's writes gathered. */
#include "vfs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * A commit appends one frame to the WAL for every page it changed, and SQLite writes each
 * frame as two pwrite calls (its 24-byte header, then the page): about thirty system calls for
 * a run's commit. Here the WAL's appends are kept in memory and written with one call when
 * SQLite syncs the WAL, which it does at the end of every commit (the store runs with
 * synchronous=FULL), before the WAL index makes the frames visible to other connections. They
 * are also written before anything reads, sizes or truncates the WAL, before a write that is
 * not an append, and when more than WAL_BUFFER bytes wait.
 *
 * Whether a sync then reaches the disk is the durability: "full" syncs at every commit;
 * "normal" only for checkpoints (and a new WAL's header), which SQLite asks for with
 * SQLITE_SYNC_FULL because the store sets checkpoint_fullfsync, while commits ask with
 * SQLITE_SYNC_NORMAL. That is SQLite's own synchronous=NORMAL in WAL mode: a crash of sked
 * loses nothing committed, a power loss may lose the last commits, never the store.
 */
#define WAL_BUFFER (1024 * 1024)
#define WAL_PIECE (64 * 1024)

/*
 * What waits is written only while its transaction holds the WAL's write lock. A transaction
 * that spilled pages to the WAL and then rolled back leaves frames that must never be written:
 * another connection may write its own commits in that place of the WAL once the lock is free.
 * So the database file is wrapped too, and when its connection releases the write lock
 * (xShmLock) whatever still waits is dropped: a commit has synced it already, so it can only be
 * a rolled-back transaction's. A WAL file is matched to its database file by the name SQLite
 * opened them with; one that matches none is written straight through.
 */
struct walfile;

struct dbfile {
    sqlite3_file base;
    sqlite3_file *real;
    const char *name;    /* as SQLite passed it to xOpen: the key for its WAL */
    struct walfile *wal; /* its WAL file while open */
    struct dbfile *next; /* in the list of open database files */
};

static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dbfile *opened;

struct walfile {
    sqlite3_file base;
    sqlite3_file *real; /* right after this struct, in the same allocation */
    bool every_commit;  /* durability full */
    char *buf;
    size_t len;
    sqlite3_int64 start; /* offset of buf[0] in the file */
    sqlite3_int64 size;  /* of the file as last seen, with durability full; -1 until read */
    struct dbfile *db;   /* its database file; NULL: written straight through */
};

/* where the system's own file starts, after ours, aligned for it */
#define MAXOF(a, b) ((a) > (b) ? (a) : (b))
#define FILE_HEAD ((int)((MAXOF(sizeof(struct walfile), sizeof(struct dbfile)) + 15) / 16 * 16))

/*
 * With durability full, a sync that finds the file longer than at the last one has to write
 * the file's new size and blocks to the filesystem's journal too: a new WAL grows with every
 * commit until its first checkpoint (then it is overwritten in place), and that journal write
 * made a commit's sync about a third slower. So the WAL is grown ahead of its frames by
 * WAL_CHUNK of zeros at a time, one journal write per chunk rather than per commit. SQLite
 * reads frames only up to the last one whose checksum holds, so zeros past them are not read
 * as frames (they are what a WAL restarted in place has past its end too).
 */
#define WAL_CHUNK (1024 * 1024)

static int write_pieces(sqlite3_file *real, const char *data, size_t n, sqlite3_int64 off)
{
    /* in pieces of 64 KB: the unix VFS writes at most 128 KB - 1 bytes per call, and takes a
     * write of a multiple of 128 KB for a full disk */
    int rc = SQLITE_OK;
    for (size_t done = 0; done < n && rc == SQLITE_OK; done += WAL_PIECE) {
        size_t k = n - done < WAL_PIECE ? n - done : WAL_PIECE;
        rc = real->pMethods->xWrite(real, data + done, (int)k, off + (sqlite3_int64)done);
    }
    return rc;
}

/*
 * Grows the file (durability full) so that end is inside it, by whole chunks of zeros. The size
 * kept is only a lower bound: another connection (the prune thread's) may have grown the file
 * since, with its frames past that size. So before writing zeros the size is read again, and
 * they go only past the file's real end; no other connection writes meanwhile, since frames are
 * written only by the holder of the WAL's write lock.
 */
static int grow(struct walfile *f, sqlite3_int64 end)
{
    static const char zeros[WAL_PIECE];
    if (!f->every_commit || end <= f->size) return SQLITE_OK;
    int rc = f->real->pMethods->xFileSize(f->real, &f->size);
    if (rc != SQLITE_OK) return rc;
    if (end <= f->size) return SQLITE_OK;
    sqlite3_int64 to = (end + WAL_CHUNK - 1) / WAL_CHUNK * WAL_CHUNK;
    for (sqlite3_int64 off = f->size; off < to; off += WAL_PIECE) {
        rc = f->real->pMethods->xWrite(f->real, zeros, WAL_PIECE, off);
        if (rc != SQLITE_OK) return rc;
    }
    f->size = to;
    return SQLITE_OK;
}

static sqlite3_vfs *sys; /* the system's VFS, which does the work */

static int flush(struct walfile *f)
{
    if (f->len == 0) return SQLITE_OK;
    int rc = grow(f, f->start + (sqlite3_int64)f->len);
    if (rc == SQLITE_OK) rc = write_pieces(f->real, f->buf, f->len, f->start);
    f->len = 0;
    return rc;
}

static int w_close(sqlite3_file *p)
{
    struct walfile *f = (struct walfile *)p;
    pthread_mutex_lock(&open_mu);
    if (f->db) f->db->wal = NULL;
    pthread_mutex_unlock(&open_mu);
    /* nothing waiting is still wanted: commits are written when they sync */
    int rc = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc;
}

static int w_read(sqlite3_file *p, void *out, int n, sqlite3_int64 off)
{
    struct walfile *f = (struct walfile *)p;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, n, off);
}

static int w_write(sqlite3_file *p, const void *data, int n, sqlite3_int64 off)
{
    struct walfile *f = (struct walfile *)p;
    if (!f->db) {
        int rc = grow(f, off + n);
        return rc != SQLITE_OK ? rc : write_pieces(f->real, data, (size_t)n, off);
    }
    bool append = f->len > 0 && off == f->start + (sqlite3_int64)f->len;
    if (!append || f->len + (size_t)n > WAL_BUFFER) {
        int rc = flush(f);
        if (rc != SQLITE_OK) return rc;
        if ((size_t)n > WAL_PIECE) {
            rc = grow(f, off + n);
            return rc != SQLITE_OK ? rc : write_pieces(f->real, data, (size_t)n, off);
        }
        f->start = off;
    }
    if (!f->buf) {
        f->buf = malloc(WAL_BUFFER);
        if (!f->buf) return f->real->pMethods->xWrite(f->real, data, n, off);
    }
    memcpy(f->buf + f->len, data, (size_t)n);
    f->len += (size_t)n;
    return SQLITE_OK;
}

static int w_truncate(sqlite3_file *p, sqlite3_int64 size)
{
    struct walfile *f = (struct walfile *)p;
    int rc = flush(f);
    if (rc == SQLITE_OK) rc = f->real->pMethods->xTruncate(f->real, size);
    f->size = -1;
    return rc;
}

static int w_sync(sqlite3_file *p, int flags)
{
    struct walfile *f = (struct walfile *)p;
    int rc = flush(f);
    if (rc != SQLITE_OK) return rc;
    if (!f->every_commit && (flags & 0x0f) != SQLITE_SYNC_FULL) return SQLITE_OK;
    return f->real->pMethods->xSync(f->real, flags);
}

static int w_size(sqlite3_file *p, sqlite3_int64 *size)
{
    struct walfile *f = (struct walfile *)p;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int w_lock(sqlite3_file *p, int level)
{
    sqlite3_file *r = ((struct walfile *)p)->real;
    return r->pMethods->xLock(r, level);
}

static int w_unlock(sqlite3_file *p, int level)
{
    sqlite3_file *r = ((struct walfile *)p)->real;
    return r->pMethods->xUnlock(r, level);
}

static int w_reserved(sqlite3_file *p, int *out)
{
    sqlite3_file *r = ((struct walfile *)p)->real;
    return r->pMethods->xCheckReservedLock(r, out);
}

static int w_control(sqlite3_file *p, int op, void *arg)
{
    struct walfile *f = (struct walfile *)p;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int w_sector(sqlite3_file *p)
{
    sqlite3_file *r = ((struct walfile *)p)->real;
    return r->pMethods->xSectorSize(r);
}

static int w_device(sqlite3_file *p)
{
    sqlite3_file *r = ((struct walfile *)p)->real;
    return r->pMethods->xDeviceCharacteristics(r);
}

/* version 1: a WAL file is never memory-mapped or used for the shared-memory index */
static const sqlite3_io_methods wal_methods = {
    1,        w_close, w_read,     w_write,   w_truncate, w_sync,   w_size,
    w_lock,   w_unlock, w_reserved, w_control, w_sector,   w_device,
};

/* The database file: the system's, except that releasing the WAL's write lock drops what
 * its WAL file still holds. */
#define REAL(p) (((struct dbfile *)(p))->real)

static int d_close(sqlite3_file *p)
{
    struct dbfile *d = (struct dbfile *)p;
    pthread_mutex_lock(&open_mu);
    for (struct dbfile **at = &opened; *at; at = &(*at)->next)
        if (*at == d) {
            *at = d->next;
            break;
        }
    if (d->wal) d->wal->db = NULL;
    pthread_mutex_unlock(&open_mu);
    return d->real->pMethods->xClose(d->real);
}

static int d_shmlock(sqlite3_file *p, int ofst, int n, int flags)
{
    struct dbfile *d = (struct dbfile *)p;
    /* offset 0 is the WAL's write lock */
    if (ofst == 0 && (flags & SQLITE_SHM_UNLOCK) && d->wal) d->wal->len = 0;
    return d->real->pMethods->xShmLock(d->real, ofst, n, flags);
}

static int d_read(sqlite3_file *p, void *out, int n, sqlite3_int64 off)
{
    return REAL(p)->pMethods->xRead(REAL(p), out, n, off);
}
static int d_write(sqlite3_file *p, const void *data, int n, sqlite3_int64 off)
{
    return REAL(p)->pMethods->xWrite(REAL(p), data, n, off);
}
static int d_truncate(sqlite3_file *p, sqlite3_int64 size)
{
    return REAL(p)->pMethods->xTruncate(REAL(p), size);
}
static int d_sync(sqlite3_file *p, int flags)
{
    return REAL(p)->pMethods->xSync(REAL(p), flags);
}
static int d_size(sqlite3_file *p, sqlite3_int64 *size)
{
    return REAL(p)->pMethods->xFileSize(REAL(p), size);
}
static int d_lock(sqlite3_file *p, int level)
{
    return REAL(p)->pMethods->xLock(REAL(p), level);
}
static int d_unlock(sqlite3_file *p, int level)
{
    return REAL(p)->pMethods->xUnlock(REAL(p), level);
}
static int d_reserved(sqlite3_file *p, int *out)
{
    return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out);
}
static int d_control(sqlite3_file *p, int op, void *arg)
{
    return REAL(p)->pMethods->xFileControl(REAL(p), op, arg);
}
static int d_sector(sqlite3_file *p)
{
    return REAL(p)->pMethods->xSectorSize(REAL(p));
}
static int d_device(sqlite3_file *p)
{
    return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p));
}
static int d_shmmap(sqlite3_file *p, int region, int size, int extend, void volatile **out)
{
    return REAL(p)->pMethods->xShmMap(REAL(p), region, size, extend, out);
}
static void d_shmbarrier(sqlite3_file *p)
{
    REAL(p)->pMethods->xShmBarrier(REAL(p));
}
static int d_shmunmap(sqlite3_file *p, int delete_flag)
{
    return REAL(p)->pMethods->xShmUnmap(REAL(p), delete_flag);
}
static int d_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
    return REAL(p)->pMethods->xFetch(REAL(p), off, n, out);
}
static int d_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
    return REAL(p)->pMethods->xUnfetch(REAL(p), off, page);
}

static const sqlite3_io_methods db_methods = {
    3,          d_close,    d_read,   d_write,      d_truncate, d_sync,
    d_size,     d_lock,     d_unlock, d_reserved,   d_control,  d_sector,
    d_device,   d_shmmap,   d_shmlock, d_shmbarrier, d_shmunmap, d_fetch,
    d_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *p, int flags, int *out_flags)
{
    if (flags & SQLITE_OPEN_MAIN_DB) {
        struct dbfile *d = (struct dbfile *)p;
        memset(d, 0, sizeof *d);
        d->real = (sqlite3_file *)((char *)p + FILE_HEAD);
        d->name = name;
        int rc = sys->xOpen(sys, name, d->real, flags, out_flags);
        /* the methods are set only on success: SQLite calls xClose only when they are */
        if (rc != SQLITE_OK) return rc;
        if (d->real->pMethods->iVersion < 3) { /* not one to wrap: the system's file as it is */
            d->real->pMethods->xClose(d->real);
            return sys->xOpen(sys, name, p, flags, out_flags);
        }
        d->base.pMethods = &db_methods;
        pthread_mutex_lock(&open_mu);
        d->next = opened;
        opened = d;
        pthread_mutex_unlock(&open_mu);
        return rc;
    }
    if (!(flags & SQLITE_OPEN_WAL)) return sys->xOpen(sys, name, p, flags, out_flags);
    struct walfile *f = (struct walfile *)p;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)((char *)p + FILE_HEAD);
    f->every_commit = vfs->pAppData != NULL;
    f->size = -1;
    int rc = sys->xOpen(sys, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) return rc;
    f->base.pMethods = &wal_methods;
    const char *db_name = sqlite3_filename_database(name);
    pthread_mutex_lock(&open_mu);
    for (struct dbfile *d = opened; d; d = d->next)
        if (d->name == db_name && !d->wal) {
            d->wal = f;
            f->db = d;
            break;
        }
    pthread_mutex_unlock(&open_mu);
    return rc;
}

/* the rest is the system VFS's own */
static int v_delete(sqlite3_vfs *v, const char *name, int sync)
{
    return sys->xDelete(sys, name, sync);
}
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    return sys->xAccess(sys, name, flags, out);
}
static int v_fullname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    return sys->xFullPathname(sys, name, n, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *name)
{
    return sys->xDlOpen(sys, name);
}
static void v_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    sys->xDlError(sys, n, msg);
}
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    return sys->xDlSym(sys, h, sym);
}
static void v_dlclose(sqlite3_vfs *v, void *h)
{
    sys->xDlClose(sys, h);
}
static int v_random(sqlite3_vfs *v, int n, char *out)
{
    return sys->xRandomness(sys, n, out);
}
static int v_sleep(sqlite3_vfs *v, int us)
{
    return sys->xSleep(sys, us);
}
static int v_time(sqlite3_vfs *v, double *out)
{
    return sys->xCurrentTime(sys, out);
}
static int v_lasterr(sqlite3_vfs *v, int n, char *msg)
{
    return sys->xGetLastError ? sys->xGetLastError(sys, n, msg) : 0;
}
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    return sys->xCurrentTimeInt64(sys, out);
}

static sqlite3_vfs vfs_normal, vfs_full;
static int registered = SQLITE_ERROR;

static void define(sqlite3_vfs *v, const char *name, void *full)
{
    *v = (sqlite3_vfs){2, 0, sys->mxPathname, NULL, name, full, v_open, v_delete, v_access,
                       v_fullname, v_dlopen, v_dlerror, v_dlsym, v_dlclose, v_random, v_sleep,
                       v_time, v_lasterr, v_time64};
    v->szOsFile = FILE_HEAD + sys->szOsFile;
}

static void register_once(void)
{
    sys = sqlite3_vfs_find(NULL);
    if (!sys || sys->iVersion < 2) return;
    define(&vfs_normal, "sked-normal", NULL);
    define(&vfs_full, "sked-full", &vfs_full);
    registered = sqlite3_vfs_register(&vfs_normal, 0);
    if (registered == SQLITE_OK) registered = sqlite3_vfs_register(&vfs_full, 0);
}

const char *store_vfs(bool every_commit)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    if (registered != SQLITE_OK) return NULL;
    return every_commit ? "sked-full" : "sked-normal";
}
