/*-------------------------------------------------------------------------
 *
 * collector.c
 *		The collector background worker and capture_drain(), the one ring
 *		consumer.
 *
 * Contract: capture_drain() empties the exec and text rings into the store.
 * It takes ARCHITECT_LOCK_CONSUMER (one consumer at a time) and then, per
 * batch, ARCHITECT_LOCK_STATS exclusively; readers of the views take STATS
 * shared, so a batch is kept small (EVENT_BATCH) to bound their wait.  The
 * first drain after server start loads the save file.
 *
 * The collector drains every pg_architect.collector_naptime, or sooner when
 * a backend's publish crosses a quarter of the ring (capture_wake_collector).
 * On shutdown (SIGTERM) it drains one last time and saves the statistics if
 * pg_architect.save is on.  Readers (architect.statements …) also call
 * capture_drain() so that what a DBA reads includes what just ran.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "capture/capture.h"
#include "core/pg_architect.h"

#define EVENT_BATCH 512

PGDLLEXPORT void architect_collector_main(Datum arg);

void
collector_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	/*
	 * At postmaster start, not at a consistent state or when recovery ends:
	 * the collector needs shared memory only (no database connection), so it
	 * runs on a hot standby too, and saves into that node's own data
	 * directory at shutdown.
	 */
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_architect");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "architect_collector_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_architect collector");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_architect collector");
	RegisterBackgroundWorker(&worker);
}

/*
 * Called by a backend whose publish landed on a quarter-ring boundary: an
 * occasional SetLatch, never a wait.
 */
void
capture_wake_collector(void)
{
	uint32		procno = pg_atomic_read_u32(&capture_shared->collector_pid);

	if (procno != 0 && procno - 1 < ProcGlobal->allProcCount)
		SetLatch(&ProcGlobal->allProcs[procno - 1].procLatch);
}

void
capture_drain(void)
{
	/* Static, like the producers' buffers: no 16 kB block in a reader's heap. */
	static CaptureEvent batch[EVENT_BATCH];
	static TextEvent text_buf;
	static ScanEvent scan;
	TextEvent  *text = &text_buf;

	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_CONSUMER), LW_EXCLUSIVE);
	if (!capture_shared->loaded)
	{
		LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_EXCLUSIVE);
		store_load_file();
		capture_shared->loaded = true;
		LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));
	}

	for (;;)
	{
		int			n = 0;
		int			ntexts = 0;
		int			nscans = 0;
		int			i;

		while (n < EVENT_BATCH && ring_consume(capture_shared->exec_ring, &batch[n]))
			n++;

		LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_EXCLUSIVE);
		for (i = 0; i < n; i++)
			store_aggregate_event(&batch[i]);
		while (ntexts < 16 && ring_consume(capture_shared->text_ring, text))
		{
			store_attach_text(text);
			ntexts++;
		}
		while (nscans < EVENT_BATCH && ring_consume(capture_shared->scan_ring, &scan))
		{
			store_aggregate_scan(&scan);
			nscans++;
		}
		LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));

		if (n < EVENT_BATCH && ntexts < 16 && nscans < EVENT_BATCH)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	capture_shared->last_drain = GetCurrentTimestamp();
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_CONSUMER));
}

void
architect_collector_main(Datum arg)
{
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pg_architect collector",
									 ALLOCSET_DEFAULT_SIZES);
	pg_atomic_write_u32(&capture_shared->collector_pid, PGA_MY_PROC_INDEX() + 1);

	for (;;)
	{
		MemoryContext old;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 capture_collector_naptime_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		old = MemoryContextSwitchTo(loop_cxt);
		capture_drain();
		if (ShutdownRequestPending)
		{
			if (capture_save)
			{
				LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_SHARED);
				store_save_file();
				LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));
			}
			pg_atomic_write_u32(&capture_shared->collector_pid, 0);
			proc_exit(0);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_cxt);
	}
}
