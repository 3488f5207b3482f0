/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		The shared-memory segment of pg_architect: request, startup, and
 *		the "is capture available in this session" check.
 *
 * Contract: when preloaded, shmem_request_hook adds up every module's
 * shmem_size() and asks for one tranche of ARCHITECT_NUM_LWLOCKS named
 * LWLocks; shmem_startup_hook lets each module carve its own structs with
 * architect_shmem_alloc() (ShmemInitStruct under AddinShmemInitLock, so a
 * module finds its struct already initialised in EXEC_BACKEND children).
 * Both hooks chain to whatever was installed before us.
 *
 * Without preload nothing here is installed, architect_shmem_ready() is
 * false, and architect_require_capture() says so once per session.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "core/pg_architect.h"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static LWLockPadded *architect_locks = NULL;
static bool shmem_ready = false;
static bool capture_notice_given = false;

Size
architect_shmem_total_size(void)
{
	Size		total = 0;
	int			i;

	for (i = 0; i < architect_module_count; i++)
		if (architect_modules[i].shmem_size)
			total = add_size(total, architect_modules[i].shmem_size());
	return total;
}

static void
architect_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(architect_shmem_total_size());
	RequestNamedLWLockTranche("pg_architect", ARCHITECT_NUM_LWLOCKS);
}

static void
architect_shmem_startup(void)
{
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	architect_locks = GetNamedLWLockTranche("pg_architect");

	for (i = 0; i < architect_module_count; i++)
		if (architect_modules[i].shmem_startup)
			architect_modules[i].shmem_startup();

	shmem_ready = true;
}

void
architect_shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = architect_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = architect_shmem_startup;
}

/*
 * Carve (or find) a module's struct.  Callers are shmem_startup callbacks,
 * which run with no lock held; we take AddinShmemInitLock as the manual
 * asks so that initialisation happens exactly once.
 */
void *
architect_shmem_alloc(const char *what, Size size, bool *found)
{
	void	   *ptr;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ptr = ShmemInitStruct(what, size, found);
	LWLockRelease(AddinShmemInitLock);
	return ptr;
}

LWLock *
architect_lwlock(int which)
{
	Assert(architect_locks != NULL);
	Assert(which >= 0 && which < ARCHITECT_NUM_LWLOCKS);
	return &architect_locks[which].lock;
}

bool
architect_shmem_ready(void)
{
	return shmem_ready;
}

/*
 * Capture views call this first.  Without preload they return no rows; the
 * DBA is told why once per session, not once per row or per query.
 */
bool
architect_require_capture(const char *what)
{
	if (shmem_ready)
		return true;

	if (!capture_notice_given)
	{
		capture_notice_given = true;
		ereport(NOTICE,
				(errmsg("pg_architect capture is not active: %s returns no rows", what),
				 errdetail("pg_architect was loaded by CREATE EXTENSION or a function call, not through shared_preload_libraries."),
				 errhint("Add pg_architect to shared_preload_libraries and restart the server; advisors that read only the catalog work without it.")));
	}
	return false;
}
