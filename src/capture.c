/*-------------------------------------------------------------------------
 *
 * capture.c
 *		Workload capture on the query hot path: GUCs, shared layout, and the
 *		planner / executor / utility hooks that publish events.
 *
 * Contract.  Hooks installed (each chained to the previous one, in
 * capture_init, only when preloaded): planner_hook, ExecutorStart,
 * ExecutorRun, ExecutorFinish, ExecutorEnd, ProcessUtility.  What the hot
 * path does per captured execution:
 *	- ExecutorStart: ask for the executor's cheap total instrumentation
 *	  (queryDesc->totaltime: time, buffers, WAL; no per-node timing);
 *	- ExecutorEnd: hash the plan's shape (plan_id.c), fill one CaptureEvent
 *	  on the stack and ring_publish() it: one CAS and a memcpy.  Only when
 *	  the statement's or plan's text is not yet known to the store (a probe
 *	  of the lock-free filter) does it copy the query text, or run EXPLAIN
 *	  once, into the text ring.
 * No LWLock, no wait, no catalog access, no shared allocation.  A full ring
 * drops the event and counts it.
 *
 * Errors: ExecutorEnd never runs for a statement that fails, so Run and
 * Finish catch the error, publish an EVENT_ERROR and re-throw.
 * Nesting: the level rises in Run, Finish, planning and utilities (except
 * EXECUTE / PREPARE / cursors, whose statement is the client's own), so a
 * statement inside a function or DO block is captured with toplevel false.
 * Parallel workers publish nothing: their buffers are folded into the
 * leader's instrumentation by the executor.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "common/pg_prng.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "optimizer/planner.h"
#include "storage/ipc.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/queryjumble.h"
#include "utils/timestamp.h"
#include "utils/memutils.h"

#include "capture.h"
#include "pg_architect.h"

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

static int	nesting_level = 0;

/*
 * Core gives a cursor's query no query id of its own (only the DECLARE is
 * jumbled), so the cursor's execution is attributed to the DECLARE's id,
 * as pg_stat_statements reports it.
 */
static uint64 declare_cursor_queryid = 0;

/*
 * The plan id of the execution being started, kept for its ExecutorEnd so
 * the common (non-nested) case hashes the plan once.  The PlannedStmt is
 * compared too, since a QueryDesc freed by an error may be reused.
 */
static QueryDesc *started_query = NULL;
static PlannedStmt *started_stmt = NULL;
static uint64 started_planid = 0;

static planner_hook_type prev_planner_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static PlannedStmt *capture_planner(Query *parse, const char *query_string,
									int cursorOptions, ParamListInfo boundParams);
static void capture_ExecutorStart(QueryDesc *queryDesc, int eflags);
static void capture_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
								uint64 count, bool execute_once);
static void capture_ExecutorFinish(QueryDesc *queryDesc);
static void capture_ExecutorEnd(QueryDesc *queryDesc);
static void capture_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
								   bool readOnlyTree, ProcessUtilityContext context,
								   ParamListInfo params, QueryEnvironment *queryEnv,
								   DestReceiver *dest, QueryCompletion *qc);

static const struct config_enum_entry track_options[] = {
	{"none", CAPTURE_TRACK_NONE, false},
	{"top", CAPTURE_TRACK_TOP, false},
	{"all", CAPTURE_TRACK_ALL, false},
	{NULL, 0, false}
};

#define capture_enabled(level) \
	(capture_shared != NULL && !IsParallelWorker() && \
	 (capture_track == CAPTURE_TRACK_ALL || \
	  (capture_track == CAPTURE_TRACK_TOP && (level) == 0)))

/*
 * Texts recently sent by this backend: a direct-mapped cache that keeps a
 * backend from re-sending a text while the collector has not stored it yet,
 * and lets it send again later if the first one was dropped.
 */
#define SENT_CACHE_SIZE 256
#define SENT_RETRY_USEC (5 * USECS_PER_SEC)
static uint64 sent_keys[SENT_CACHE_SIZE];
static TimestampTz sent_at[SENT_CACHE_SIZE];
static TextEvent *text_event = NULL;

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

	/*
	 * The text event buffer is allocated here, inherited by every backend,
	 * so the error path never has to allocate.
	 */
	text_event = MemoryContextAlloc(TopMemoryContext, sizeof(TextEvent));

	collector_register();

	prev_planner_hook = planner_hook;
	planner_hook = capture_planner;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = capture_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = capture_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = capture_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = capture_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = capture_ProcessUtility;
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

/* ---- publishing ------------------------------------------------------- */

static inline bool
text_sent_recently(uint64 key, TimestampTz now)
{
	int			slot = key % SENT_CACHE_SIZE;

	return sent_keys[slot] == key && now - sent_at[slot] < SENT_RETRY_USEC;
}

/* True if this backend should send the text now (and remember it did). */
static bool
claim_text_send(uint64 key, TimestampTz now)
{
	int			slot = key % SENT_CACHE_SIZE;

	if (text_sent_recently(key, now))
		return false;
	sent_keys[slot] = key;
	sent_at[slot] = now;
	return true;
}

/*
 * Publish a text.  Texts are rare and every one matters, so the collector is
 * woken for each; if the text ring is full the claim is forgotten, so the
 * next execution of the statement tries again instead of waiting out
 * SENT_RETRY_USEC.
 */
static void
publish_text(uint8 kind, const CaptureEvent *ev, uint64 key, const char *text, int len)
{
	text_event->kind = kind;
	text_event->toplevel = ev->toplevel;
	text_event->userid = ev->userid;
	text_event->dbid = ev->dbid;
	text_event->queryid = ev->queryid;
	text_event->planid = ev->planid;
	len = Min(len, TEXT_EVENT_MAX - 1);
	/* Do not cut a multibyte character in half. */
	len = pg_mbcliplen(text, len, len);
	memcpy(text_event->text, text, len);
	text_event->text[len] = '\0';
	text_event->len = len;
	if (ring_publish(capture_shared->text_ring, text_event, NULL))
		capture_wake_collector();
	else
		sent_keys[key % SENT_CACHE_SIZE] = 0;
}

/*
 * Send whichever texts the store does not know yet.  The common case is two
 * probes of the filter and nothing else.  On the error path (with_plan
 * false) only the query text is sent: running EXPLAIN while an error is
 * propagating is not safe.
 */
static void
send_missing_texts(QueryDesc *queryDesc, const CaptureEvent *ev, bool with_plan)
{
	uint64		skey = store_statement_textkey(ev->userid, ev->dbid, ev->queryid, ev->toplevel);
	uint64		pkey = store_plan_textkey(ev->dbid, ev->queryid, ev->planid);
	TimestampTz now;

	if (store_text_known(skey) && (with_plan == false || store_text_known(pkey)))
		return;
	now = GetCurrentStatementStartTimestamp();

	if (!store_text_known(skey) && claim_text_send(skey, now) && queryDesc->sourceText)
	{
		int			location = queryDesc->plannedstmt->stmt_location;
		int			len = queryDesc->plannedstmt->stmt_len;
		const char *text = CleanQuerytext(queryDesc->sourceText, &location, &len);

		publish_text(EVENT_QUERY_TEXT, ev, skey, text, len);
	}
	if (with_plan && !store_text_known(pkey) && claim_text_send(pkey, now))
	{
		char	   *plan = plan_explain_text(queryDesc);

		publish_text(EVENT_PLAN_TEXT, ev, pkey, plan, strlen(plan));
		pfree(plan);
	}
}

static void
fill_event(CaptureEvent *ev, QueryDesc *queryDesc, uint8 kind)
{
	ev->kind = kind;
	ev->toplevel = (nesting_level == 0);
	ev->userid = GetUserId();
	ev->dbid = MyDatabaseId;
	ev->queryid = queryDesc->plannedstmt->queryId;
	ev->planid = (queryDesc == started_query && queryDesc->plannedstmt == started_stmt) ?
		started_planid : plan_shape_id(queryDesc->plannedstmt);
	ev->finished_at = GetCurrentStatementStartTimestamp();
}

static void
publish_event(const CaptureEvent *ev)
{
	uint64		pos;

	if (ring_publish(capture_shared->exec_ring, ev, &pos) &&
		(pos & (capture_shared->exec_ring->capacity / 4 - 1)) == 0)
		capture_wake_collector();
}

/* An error is aborting this statement: count it, then let it propagate. */
static void
capture_error(QueryDesc *queryDesc)
{
	CaptureEvent ev;

	if (!capture_enabled(nesting_level) || queryDesc->plannedstmt->queryId == UINT64CONST(0) ||
		queryDesc->totaltime == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	fill_event(&ev, queryDesc, EVENT_ERROR);
	publish_event(&ev);
	send_missing_texts(queryDesc, &ev, false);
}

/* ---- hooks ------------------------------------------------------------ */

static PlannedStmt *
capture_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	PlannedStmt *result;

	nesting_level++;
	PG_TRY();
	{
		if (prev_planner_hook)
			result = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
	return result;
}

static void
capture_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	bool		captured;

	if (queryDesc->plannedstmt->queryId == UINT64CONST(0) && declare_cursor_queryid != 0)
		queryDesc->plannedstmt->queryId = declare_cursor_queryid;

	captured = capture_enabled(nesting_level) &&
		queryDesc->plannedstmt->queryId != UINT64CONST(0) &&
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0;

	/*
	 * Sampling must be decided before the executor builds the plan state:
	 * row counts per node for a random fraction of executions, and for the
	 * first execution of a plan the store has not seen yet (until this
	 * backend has sent that plan's text, so a burst of a new plan is not
	 * all instrumented while the collector catches up).
	 */
	if (captured)
	{
		started_query = queryDesc;
		started_stmt = queryDesc->plannedstmt;
		started_planid = plan_shape_id(queryDesc->plannedstmt);
		if (capture_sample_rate > 0)
		{
			uint64		pkey = store_plan_textkey(MyDatabaseId, queryDesc->plannedstmt->queryId,
												  started_planid);

			if (pg_prng_double(&pg_global_prng_state) < capture_sample_rate ||
				(!store_text_known(pkey) &&
				 !text_sent_recently(pkey, GetCurrentStatementStartTimestamp())))
				queryDesc->instrument_options |= INSTRUMENT_ROWS;
		}
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (captured && queryDesc->totaltime == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);

		queryDesc->totaltime = InstrAlloc(1, INSTRUMENT_ALL, false);
		MemoryContextSwitchTo(old);
	}
}

static void
capture_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
					bool execute_once)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_CATCH();
	{
		nesting_level--;
		capture_error(queryDesc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;
}

static void
capture_ExecutorFinish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		nesting_level--;
		capture_error(queryDesc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;
}

static void
capture_ExecutorEnd(QueryDesc *queryDesc)
{
	if (queryDesc->totaltime && capture_enabled(nesting_level) &&
		queryDesc->plannedstmt->queryId != UINT64CONST(0) &&
		(queryDesc->estate->es_top_eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
	{
		CaptureEvent ev;
		Instrumentation *t = queryDesc->totaltime;

		memset(&ev, 0, sizeof(ev));
		/* Finish the totals the executor kept for us (or for a peer). */
		InstrEndLoop(t);
		fill_event(&ev, queryDesc, EVENT_EXECUTION);
		ev.elapsed_us = t->total * 1000000.0;
		ev.rows = (uint64) t->ntuples;	/* es_processed summed over every Run */
		ev.shared_blks_hit = t->bufusage.shared_blks_hit;
		ev.shared_blks_read = t->bufusage.shared_blks_read;
		ev.temp_blks_written = t->bufusage.temp_blks_written;
		ev.wal_bytes = t->walusage.wal_bytes;
		publish_event(&ev);
		send_missing_texts(queryDesc, &ev, true);

		/* Sampled (or EXPLAIN ANALYZE'd): read what each node did. */
		if (capture_sample_rate > 0 && queryDesc->planstate && queryDesc->planstate->instrument)
			scan_capture_record(queryDesc);
	}
	if (queryDesc == started_query)
		started_query = NULL;

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

static void
capture_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	/*
	 * EXECUTE, PREPARE and cursor commands run the client's own statement:
	 * it stays top level.  Every other utility (DO, CALL, EXPLAIN, CREATE
	 * TABLE AS …) nests what it runs.
	 */
	bool		nests = !(IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt) ||
						  IsA(parsetree, DeallocateStmt) || IsA(parsetree, DeclareCursorStmt) ||
						  IsA(parsetree, FetchStmt) || IsA(parsetree, ClosePortalStmt));

	uint64		saved_cursor_queryid = declare_cursor_queryid;

	declare_cursor_queryid = IsA(parsetree, DeclareCursorStmt) ? pstmt->queryId : 0;
	if (nests)
		nesting_level++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (nests)
			nesting_level--;
		declare_cursor_queryid = saved_cursor_queryid;
	}
	PG_END_TRY();
}
