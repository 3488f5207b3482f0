/*-------------------------------------------------------------------------
 *
 * capture.c
 *		Workload capture: its GUCs, its share of shared memory (the rings and
 *		the store), its rows in architect.status, and reset.
 *
 * Contract: capture_init defines the GUCs (pg_architect.track and
 * pg_architect.sample_rate also without preload, so they can be SET
 * anywhere), and when preloaded turns on core query ids, registers the
 * collector and installs the hooks (capture_hooks.c, the hot path).
 * capture_shmem_startup carves the rings and the store under
 * AddinShmemInitLock.  capture_status reads atomics and takes the STATS lock
 * shared for the table sizes; capture_reset takes CONSUMER then STATS
 * exclusively (the lock order of capture.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "core/compat.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "capture/capture.h"
#include "core/pg_architect.h"

int			capture_max_statements = 5000;
int			capture_max_plans = 5000;
int			capture_ring_size = 32768;
int			capture_track = CAPTURE_TRACK_ALL;
bool		capture_save = true;
int			capture_collector_naptime_ms = 200;
int			capture_text_memory_kb = 16384;
int			capture_max_scans = 10000;
double		capture_sample_rate = 0.01;

CaptureShared *capture_shared = NULL;

static const struct config_enum_entry track_options[] = {
	{"none", CAPTURE_TRACK_NONE, false},
	{"top", CAPTURE_TRACK_TOP, false},
	{"all", CAPTURE_TRACK_ALL, false},
	{NULL, 0, false}
};

/* ---- GUCs and shared memory ------------------------------------------ */

static uint64
ring_capacity(int requested)
{
	uint64		cap = 1;

	while (cap < (uint64) requested)
		cap <<= 1;
	return cap;
}

void
capture_init(void)
{
	DefineCustomEnumVariable("pg_architect.track",
							 "Which statements pg_architect captures.",
							 "top: only statements issued by clients; all: also statements run inside functions and DO blocks (reported with toplevel = false); none: capture off.",
							 &capture_track,
							 CAPTURE_TRACK_ALL,
							 track_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pg_architect.sample_rate",
							 "Fraction of executions whose plan nodes are instrumented for architect.scans.",
							 "Sampled executions count rows per plan node (never timers). The first executions of every new plan are sampled whatever this says; 0 turns scan capture off.",
							 &capture_sample_rate,
							 0.01, 0.0, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	if (!architect_preloaded)
		return;

	DefineCustomIntVariable("pg_architect.max_scans",
							"Number of distinct (statement, relation, predicate shape) observations kept for architect.scans.",
							NULL,
							&capture_max_scans,
							10000, 100, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_architect.max_statements",
							"Number of distinct statements pg_architect keeps.",
							"The collector evicts the least recently seen tenth when the table is 90% full.",
							&capture_max_statements,
							5000, 100, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_architect.max_plans",
							"Number of distinct (statement, plan) pairs pg_architect keeps, with their plan text.",
							NULL,
							&capture_max_plans,
							5000, 100, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_architect.ring_size",
							"Slots in the shared event ring between backends and the collector (rounded up to a power of two).",
							"When the ring is full, events are dropped and counted in architect.status; queries never wait.",
							&capture_ring_size,
							32768, 64, 16777216,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_architect.text_memory",
							"Shared memory for query and plan texts.",
							"Texts that do not fit are counted in architect.status as texts_discarded.",
							&capture_text_memory_kb,
							16384, 1024, INT_MAX / 1024,
							PGC_POSTMASTER, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_architect.save",
							 "Save captured statistics across server shutdowns.",
							 NULL,
							 &capture_save,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_architect.collector_naptime",
							"Time between two drains of the event ring by the collector.",
							NULL,
							&capture_collector_naptime_ms,
							200, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_architect");

	/* Query ids from core, so rows join with pg_stat_statements. */
	EnableQueryId();

	collector_register();
	capture_install_hooks();
}

/* Scan events are rarer (sampled) and larger: a quarter of the exec ring. */
static uint64
scan_ring_capacity(void)
{
	return Max(ring_capacity(capture_ring_size) / 4, 64);
}

Size
capture_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(CaptureShared));

	size = add_size(size, MAXALIGN(ring_shmem_size(ring_capacity(capture_ring_size), sizeof(CaptureEvent))));
	size = add_size(size, MAXALIGN(ring_shmem_size(TEXT_RING_SLOTS, sizeof(TextEvent))));
	size = add_size(size, MAXALIGN(ring_shmem_size(scan_ring_capacity(), sizeof(ScanEvent))));
	size = add_size(size, store_shmem_size());
	return size;
}

void
capture_shmem_startup(void)
{
	bool		found;
	Size		exec_ring_size = MAXALIGN(ring_shmem_size(ring_capacity(capture_ring_size), sizeof(CaptureEvent)));
	Size		text_ring_size = MAXALIGN(ring_shmem_size(TEXT_RING_SLOTS, sizeof(TextEvent)));
	Size		scan_ring_size = MAXALIGN(ring_shmem_size(scan_ring_capacity(), sizeof(ScanEvent)));
	char	   *base;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	base = ShmemInitStruct("pg_architect capture",
						   MAXALIGN(sizeof(CaptureShared)) + exec_ring_size + text_ring_size + scan_ring_size,
						   &found);
	capture_shared = (CaptureShared *) base;
	if (!found)
	{
		memset(capture_shared, 0, sizeof(CaptureShared));
		capture_shared->exec_ring = (EventRing *) (base + MAXALIGN(sizeof(CaptureShared)));
		capture_shared->text_ring = (EventRing *) (base + MAXALIGN(sizeof(CaptureShared)) + exec_ring_size);
		capture_shared->scan_ring = (EventRing *) (base + MAXALIGN(sizeof(CaptureShared)) + exec_ring_size + text_ring_size);
		ring_init(capture_shared->exec_ring, ring_capacity(capture_ring_size), sizeof(CaptureEvent));
		ring_init(capture_shared->text_ring, TEXT_RING_SLOTS, sizeof(TextEvent));
		ring_init(capture_shared->scan_ring, scan_ring_capacity(), sizeof(ScanEvent));
		pg_atomic_init_u64(&capture_shared->scans_evicted, 0);
		pg_atomic_init_u32(&capture_shared->known_generation, 0);
		pg_atomic_init_u64(&capture_shared->executions_sampled, 0);
		pg_atomic_init_u64(&capture_shared->statements_evicted, 0);
		pg_atomic_init_u64(&capture_shared->plans_evicted, 0);
		pg_atomic_init_u64(&capture_shared->texts_discarded, 0);
		pg_atomic_init_u64(&capture_shared->events_aggregated, 0);
		pg_atomic_init_u32(&capture_shared->collector_pid, 0);
	}
	store_shmem_startup(found);
	LWLockRelease(AddinShmemInitLock);
}

void
capture_status(StatusEmitFn emit, void *ctx)
{
	EventRing  *ring = capture_shared->exec_ring;
	long		nstatements;
	long		nplans;
	long		nscans;
	TimestampTz last_drain;

	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_SHARED);
	nstatements = hash_get_num_entries(store_statements());
	nplans = hash_get_num_entries(store_plans());
	nscans = hash_get_num_entries(store_scans());
	last_drain = capture_shared->last_drain;
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));

	emit(ctx, "capture_memory_bytes", (double) capture_shmem_size(), "bytes",
		 "shared memory reserved for capture: rings, statement and plan tables, text area");
	emit(ctx, "text_memory_limit_bytes", (double) capture_text_memory_kb * 1024, "bytes",
		 "pg_architect.text_memory: most shared memory query and plan texts may use");
	emit(ctx, "ring_capacity", (double) ring->capacity, "events",
		 "slots in the event ring (pg_architect.ring_size rounded up to a power of two)");
	emit(ctx, "events_captured", (double) pg_atomic_read_u64(&ring->head), "events",
		 "executions accepted into the ring since server start");
	emit(ctx, "events_dropped", (double) pg_atomic_read_u64(&ring->dropped), "events",
		 "executions not recorded because the ring was full (the query was not slowed)");
	emit(ctx, "events_overwritten", 0, "events",
		 "always 0: a full ring drops new events rather than overwriting unread ones");
	emit(ctx, "events_aggregated", (double) pg_atomic_read_u64(&capture_shared->events_aggregated), "events",
		 "events the collector has folded into the statement and plan tables");
	emit(ctx, "ring_backlog", (double) ring_backlog(ring), "events",
		 "events waiting for the collector");
	emit(ctx, "texts_dropped", (double) pg_atomic_read_u64(&capture_shared->text_ring->dropped), "events",
		 "query or plan texts not sent because the text ring was full (re-sent at the next execution)");
	emit(ctx, "texts_discarded", (double) pg_atomic_read_u64(&capture_shared->texts_discarded), "texts",
		 "texts not stored because text memory was full");
	emit(ctx, "statements", nstatements, "entries", "statements currently kept");
	emit(ctx, "statements_capacity", capture_max_statements, "entries", "pg_architect.max_statements");
	emit(ctx, "statements_evicted", (double) pg_atomic_read_u64(&capture_shared->statements_evicted), "entries",
		 "statements evicted by the collector to make room (least recently seen first)");
	emit(ctx, "plans", nplans, "entries", "(statement, plan) pairs currently kept");
	emit(ctx, "plans_capacity", capture_max_plans, "entries", "pg_architect.max_plans");
	emit(ctx, "plans_evicted", (double) pg_atomic_read_u64(&capture_shared->plans_evicted), "entries",
		 "plans evicted by the collector to make room");
	emit(ctx, "sample_rate", capture_sample_rate, "fraction",
		 "pg_architect.sample_rate in this session: executions instrumented for architect.scans");
	emit(ctx, "executions_sampled", (double) pg_atomic_read_u64(&capture_shared->executions_sampled), "executions",
		 "executions whose plan nodes were read for architect.scans (random sample + first executions of new plans)");
	emit(ctx, "scan_events_dropped", (double) pg_atomic_read_u64(&capture_shared->scan_ring->dropped), "events",
		 "scan observations not recorded because the scan ring was full");
	emit(ctx, "scans", nscans, "entries", "scan observations currently kept");
	emit(ctx, "scans_capacity", capture_max_scans, "entries", "pg_architect.max_scans");
	emit(ctx, "scans_evicted", (double) pg_atomic_read_u64(&capture_shared->scans_evicted), "entries",
		 "scan observations evicted by the collector to make room");
	emit(ctx, "collector_running", pg_atomic_read_u32(&capture_shared->collector_pid) != 0 ? 1 : 0, "boolean",
		 "1 while the collector background worker runs");
	emit(ctx, "collector_lag_ms",
		 last_drain == 0 ? -1 : (double) (GetCurrentTimestamp() - last_drain) / 1000.0, "ms",
		 "time since the rings were last drained (-1: never)");
}

void
capture_reset(void)
{
	CaptureEvent ev;
	ScanEvent	sev;

	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_CONSUMER), LW_EXCLUSIVE);
	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_EXCLUSIVE);
	while (ring_consume(capture_shared->exec_ring, &ev))
		;
	while (ring_consume(capture_shared->scan_ring, &sev))
		;
	store_reset();
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_CONSUMER));
}
