/*-------------------------------------------------------------------------
 *
 * capture.c
 *		Workload capture: GUCs, shared state and status of the capture path.
 *
 * Contract: owns the capture GUCs and the shared CaptureShared struct (the
 * event ring and its counters).  Later pieces (hooks, collector) publish
 * into and drain from this ring.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "capture.h"
#include "pg_architect.h"

int			capture_max_statements = 5000;
int			capture_max_plans = 10000;
int			capture_ring_size = 32768;
int			capture_track = CAPTURE_TRACK_ALL;
bool		capture_save = true;
int			capture_collector_naptime_ms = 200;

CaptureShared *capture_shared = NULL;

static const struct config_enum_entry track_options[] = {
	{"none", CAPTURE_TRACK_NONE, false},
	{"top", CAPTURE_TRACK_TOP, false},
	{"all", CAPTURE_TRACK_ALL, false},
	{NULL, 0, false}
};

static uint64
ring_capacity(void)
{
	uint64		cap = 1;

	while (cap < (uint64) capture_ring_size)
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

	if (!architect_preloaded)
		return;

	DefineCustomIntVariable("pg_architect.max_statements",
							"Number of distinct statements pg_architect keeps.",
							"The collector evicts the least recently used tenth when the table is full.",
							&capture_max_statements,
							5000, 100, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_architect.max_plans",
							"Number of distinct (statement, plan) pairs pg_architect keeps, with their plan text.",
							NULL,
							&capture_max_plans,
							10000, 100, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_architect.ring_size",
							"Slots in the shared event ring between backends and the collector (rounded up to a power of two).",
							"When the ring is full, events are dropped and counted in architect.status; queries never wait.",
							&capture_ring_size,
							32768, 64, 16777216,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_architect.save",
							 "Save captured statistics across server shutdowns.",
							 NULL,
							 &capture_save,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_architect.collector_naptime",
							"Time between two drains of the event ring by the collector.",
							NULL,
							&capture_collector_naptime_ms,
							200, 10, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_architect");
}

Size
capture_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(CaptureShared));

	size = add_size(size, ring_shmem_size(ring_capacity(), sizeof(CaptureEvent)));
	return size;
}

void
capture_shmem_startup(void)
{
	bool		found;

	capture_shared = architect_shmem_alloc("pg_architect capture",
										   capture_shmem_size(), &found);
	if (!found)
	{
		memset(capture_shared, 0, offsetof(CaptureShared, ring));
		ring_init(&capture_shared->ring, ring_capacity(), sizeof(CaptureEvent));
	}
}

void
capture_status(StatusEmitFn emit, void *ctx)
{
	EventRing  *ring = &capture_shared->ring;

	emit(ctx, "ring_capacity", (double) ring->capacity, "events",
		 "slots in the event ring (pg_architect.ring_size rounded up to a power of two)");
	emit(ctx, "ring_bytes", (double) ring_shmem_size(ring->capacity, sizeof(CaptureEvent)),
		 "bytes", "shared memory used by the event ring");
	emit(ctx, "events_captured", (double) pg_atomic_read_u64(&ring->head), "events",
		 "events accepted into the ring since server start");
	emit(ctx, "events_dropped", (double) pg_atomic_read_u64(&ring->dropped), "events",
		 "events refused because the ring was full (the query was not slowed)");
	emit(ctx, "ring_backlog", (double) ring_backlog(ring), "events",
		 "events waiting for the collector");
	emit(ctx, "statements_capacity", capture_max_statements, "entries",
		 "pg_architect.max_statements");
	emit(ctx, "plans_capacity", capture_max_plans, "entries",
		 "pg_architect.max_plans");
}

void
capture_reset(void)
{
}
