/*-------------------------------------------------------------------------
 *
 * capture_hooks.c
 *		The query hot path: planner / executor / utility hooks that time each
 *		execution and publish one event per execution into the ring.
 *
 * Contract.  Installed by capture_init (only when preloaded), each hook
 * chained to the one installed before it.  Per captured execution:
 *	- ExecutorStart: hash the plan's shape (plan_id.c), decide whether this
 *	  execution is sampled for architect.scans (INSTRUMENT_ROWS on its nodes),
 *	  and open a QueryClock for it;
 *	- ExecutorRun / ExecutorFinish: read the clock, the three buffer counters
 *	  and the WAL byte counter before and after, add the differences (and the
 *	  rows of each Run) to the query's clock;
 *	- ExecutorEnd: fill one CaptureEvent on the stack from the clock and
 *	  ring_publish() it (one CAS and a copy).  Only when the store does not
 *	  know the statement's or the plan's text yet (a backend-local cache,
 *	  checked against the store's filter generation with one atomic read)
 *	  does it copy the query text, or run EXPLAIN once, into the text ring.
 * No LWLock, no wait, no catalog access, no allocation (the clocks are a
 * fixed per-backend stack; executor instrumentation is allocated only for
 * sampled executions).  A full ring drops the event and counts it.
 *
 * Why our own clock rather than queryDesc->totaltime: the executor's total
 * instrumentation allocates per query and accumulates fifteen buffer and
 * three WAL counters on every Run; we need three and one.  Measured with
 * callgrind it was the largest single cost of capture (bench/capture).
 * Parallel workers' buffers are added to this backend's counters by the
 * executor before Run returns, so they are counted, once.
 *
 * Errors: ExecutorEnd never runs for a statement that fails, so Run and
 * Finish catch the error, publish an EVENT_ERROR, close the clock and
 * re-throw.  Clocks left open by a failed cursor are closed at the end of
 * the (sub)transaction that opened them.
 * Nesting: the level rises in Run, Finish, planning and utilities (except
 * EXECUTE / PREPARE / cursors, whose statement is the client's own), so a
 * statement inside a function or DO block is captured with toplevel false.
 * Parallel workers publish nothing.
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
#include "portability/instr_time.h"
#include "tcop/utility.h"
#include "utils/memutils.h"
#include "core/compat.h"
#include "utils/timestamp.h"

#include "capture/capture.h"
#include "core/pg_architect.h"

static int	nesting_level = 0;

/*
 * Core gives a cursor's query no query id of its own (only the DECLARE is
 * jumbled), so the cursor's execution is attributed to the DECLARE's id,
 * as pg_stat_statements reports it.
 */
static uint64 declare_cursor_queryid = 0;

/*
 * The open executions of this backend that are being captured: a stack,
 * since executions nest (functions) and interleave (cursors).  Searched
 * from the top, where the running execution almost always is.
 */
typedef struct QueryClock
{
	QueryDesc  *query;
	SubTransactionId subxact;	/* opened in; closed if it aborts */
	uint64		planid;
	bool		toplevel;
	bool		statement_text_known;
	bool		plan_text_known;
	double		elapsed_us;
	uint64		rows;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		temp_blks_written;
	uint64		wal_bytes;
} QueryClock;

/*
 * The stack has no fixed limit (a role could otherwise hide its statements
 * from capture by keeping many cursors open): it lives in TopMemoryContext
 * and doubles when full, so a query allocates nothing unless it is the one
 * that opens more executions at once than ever before in this backend.
 */
#define OPEN_QUERIES_INITIAL 32
static QueryClock *open_queries = NULL;
static int	open_queries_capacity = 0;
static int	n_open_queries = 0;

/* What a clock reads before a Run or Finish. */
typedef struct ClockReading
{
	instr_time	at;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		temp_blks_written;
	uint64		wal_bytes;
} ClockReading;

/*
 * Texts recently sent by this backend: a direct-mapped cache that keeps a
 * backend from re-sending a text while the collector has not stored it yet,
 * and lets it send again later if the first one was lost.
 */
#define SENT_CACHE_SIZE 256
#define SENT_RETRY_USEC (5 * USECS_PER_SEC)
static uint64 sent_keys[SENT_CACHE_SIZE];
static TimestampTz sent_at[SENT_CACHE_SIZE];

/*
 * (statement, plan) pairs whose texts the store was seen to know, valid for
 * one generation of the store's filter (bumped when it is rebuilt after an
 * eviction or a reset).  The common execution checks this and nothing else.
 */
#define KNOWN_CACHE_SIZE 256
static uint64 known_keys[KNOWN_CACHE_SIZE];
static uint32 known_generation[KNOWN_CACHE_SIZE];

/*
 * Static, not palloc'd: the error path never allocates, and a 16 kB block in
 * the backend's malloc heap measurably slowed the executor's own per-query
 * allocations (glibc bins shifted; seen with callgrind).  BSS pages are not
 * touched until a text is sent.
 */
static TextEvent text_event_buf;
static TextEvent *const text_event = &text_event_buf;

static planner_hook_type prev_planner_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

#define capture_enabled(level) \
	(capture_shared != NULL && !IsParallelWorker() && \
	 (capture_track == CAPTURE_TRACK_ALL || \
	  (capture_track == CAPTURE_TRACK_TOP && (level) == 0)))

/* ---- clocks ------------------------------------------------------------- */

/*
 * Room for one more clock.  Never raises: without memory the execution is
 * simply not captured.
 */
static bool
clocks_reserve(void)
{
	int			newcap;
	QueryClock *grown;

	if (n_open_queries < open_queries_capacity)
		return true;
	newcap = open_queries_capacity > 0 ? open_queries_capacity * 2 : OPEN_QUERIES_INITIAL;
	if ((Size) newcap * sizeof(QueryClock) >= MaxAllocSize)
		return false;
	grown = MemoryContextAllocExtended(TopMemoryContext, sizeof(QueryClock) * newcap,
									   MCXT_ALLOC_NO_OOM);
	if (grown == NULL)
		return false;
	if (open_queries != NULL)
	{
		memcpy(grown, open_queries, sizeof(QueryClock) * n_open_queries);
		pfree(open_queries);
	}
	open_queries = grown;
	open_queries_capacity = newcap;
	return true;
}

static inline QueryClock *
clock_find(QueryDesc *query)
{
	int			i;

	for (i = n_open_queries - 1; i >= 0; i--)
		if (open_queries[i].query == query)
			return &open_queries[i];
	return NULL;
}

static void
clock_close(QueryClock *clock)
{
	int			i = clock - open_queries;

	memmove(&open_queries[i], &open_queries[i + 1],
			sizeof(QueryClock) * (n_open_queries - i - 1));
	n_open_queries--;
}

static inline void
clock_read(ClockReading *r)
{
	INSTR_TIME_SET_CURRENT(r->at);
	r->shared_blks_hit = pgBufferUsage.shared_blks_hit;
	r->shared_blks_read = pgBufferUsage.shared_blks_read;
	r->temp_blks_written = pgBufferUsage.temp_blks_written;
	r->wal_bytes = pgWalUsage.wal_bytes;
}

/* Add what happened since `before` to the query's clock, if it is open. */
static inline void
clock_add(QueryDesc *query, const ClockReading *before, bool count_rows)
{
	QueryClock *clock = clock_find(query);
	instr_time	now;

	if (clock == NULL)
		return;
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, before->at);
	clock->elapsed_us += INSTR_TIME_GET_MICROSEC(now);
	clock->shared_blks_hit += pgBufferUsage.shared_blks_hit - before->shared_blks_hit;
	clock->shared_blks_read += pgBufferUsage.shared_blks_read - before->shared_blks_read;
	clock->temp_blks_written += pgBufferUsage.temp_blks_written - before->temp_blks_written;
	clock->wal_bytes += pgWalUsage.wal_bytes - before->wal_bytes;
	if (count_rows)
		clock->rows += query->estate->es_processed;
}

/*
 * Executions whose (sub)transaction ended without their ExecutorEnd (a
 * failed cursor, an error caught by an exception block): close their clocks.
 */
static void
clocks_at_xact_end(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT)
		n_open_queries = 0;
}

static void
clocks_at_subxact_abort(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	int			i;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	for (i = n_open_queries - 1; i >= 0; i--)
		if (open_queries[i].subxact >= mySubid)
			clock_close(&open_queries[i]);
}

/* ---- texts -------------------------------------------------------------- */

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

/* A backend-local name for a (statement, plan) pair; the database is fixed. */
static inline uint64
local_pair_key(uint64 queryid, uint64 planid, Oid userid, bool toplevel)
{
	return (queryid * UINT64CONST(0x9e3779b97f4a7c15)) ^ planid ^
		(((uint64) userid << 1) | (toplevel ? 1 : 0));
}

/*
 * Are both texts of this execution known to the store?  The local cache
 * answers the common case; otherwise the store's filter is probed and a
 * "both known" answer cached for the current filter generation.
 */
static void
texts_known(QueryClock *clock, uint64 queryid, Oid userid)
{
	uint64		local = local_pair_key(queryid, clock->planid, userid, clock->toplevel);
	int			slot = local % KNOWN_CACHE_SIZE;
	uint32		generation = pg_atomic_read_u32(&capture_shared->known_generation);

	pg_read_barrier();			/* probe the filter of that generation or later */
	if (known_keys[slot] == local && known_generation[slot] == generation)
	{
		clock->statement_text_known = clock->plan_text_known = true;
		return;
	}
	clock->statement_text_known =
		store_text_known(store_statement_textkey(userid, MyDatabaseId, queryid, clock->toplevel));
	clock->plan_text_known =
		store_text_known(store_plan_textkey(MyDatabaseId, queryid, clock->planid));
	if (clock->statement_text_known && clock->plan_text_known)
	{
		known_keys[slot] = local;
		known_generation[slot] = generation;
	}
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
	if (ring_publish(capture_shared->text_ring, text_event,
					 offsetof(TextEvent, text) + len + 1, NULL))
		capture_wake_collector();
	else
		sent_keys[key % SENT_CACHE_SIZE] = 0;
}

/*
 * Send whichever texts the store does not know yet.  On the error path
 * (with_plan false) only the query text is sent: running EXPLAIN while an
 * error is propagating is not safe.
 */
static void
send_missing_texts(QueryDesc *queryDesc, const QueryClock *clock, const CaptureEvent *ev,
				   bool with_plan)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();

	if (!clock->statement_text_known && queryDesc->sourceText)
	{
		uint64		skey = store_statement_textkey(ev->userid, ev->dbid, ev->queryid, ev->toplevel);

		if (claim_text_send(skey, now))
		{
			int			location = queryDesc->plannedstmt->stmt_location;
			int			len = queryDesc->plannedstmt->stmt_len;
			const char *text = CleanQuerytext(queryDesc->sourceText, &location, &len);

			publish_text(EVENT_QUERY_TEXT, ev, skey, text, len);
		}
	}
	if (with_plan && !clock->plan_text_known)
	{
		uint64		pkey = store_plan_textkey(ev->dbid, ev->queryid, ev->planid);

		if (claim_text_send(pkey, now))
		{
			char	   *plan = plan_explain_text(queryDesc);

			publish_text(EVENT_PLAN_TEXT, ev, pkey, plan, strlen(plan));
			pfree(plan);
		}
	}
}

/* ---- events ------------------------------------------------------------- */

static void
publish_event(const CaptureEvent *ev)
{
	uint64		pos;

	if (ring_publish(capture_shared->exec_ring, ev, sizeof(CaptureEvent), &pos) &&
		(pos & (capture_shared->exec_ring->capacity / 4 - 1)) == 0)
		capture_wake_collector();
}

static void
fill_event(CaptureEvent *ev, QueryDesc *queryDesc, const QueryClock *clock, uint8 kind)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->toplevel = clock->toplevel;
	ev->userid = GetUserId();
	ev->dbid = MyDatabaseId;
	ev->queryid = queryDesc->plannedstmt->queryId;
	ev->planid = clock->planid;
	ev->finished_at = GetCurrentStatementStartTimestamp();
}

/* An error is aborting this execution: count it, close its clock, re-throw. */
static void
capture_error(QueryDesc *queryDesc)
{
	QueryClock *clock = clock_find(queryDesc);
	CaptureEvent ev;

	if (clock == NULL)
		return;
	fill_event(&ev, queryDesc, clock, EVENT_ERROR);
	publish_event(&ev);
	send_missing_texts(queryDesc, clock, &ev, false);
	clock_close(clock);
}

/* ---- hooks -------------------------------------------------------------- */

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
	QueryClock	pending;
	bool		captured;

	if (queryDesc->plannedstmt->queryId == UINT64CONST(0) && declare_cursor_queryid != 0)
		queryDesc->plannedstmt->queryId = declare_cursor_queryid;

	captured = capture_enabled(nesting_level) &&
		queryDesc->plannedstmt->queryId != UINT64CONST(0) &&
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
		clocks_reserve();

	if (captured)
	{
		memset(&pending, 0, sizeof(pending));
		pending.query = queryDesc;
		pending.subxact = GetCurrentSubTransactionId();
		pending.toplevel = (nesting_level == 0);
		pending.planid = plan_shape_id(queryDesc->plannedstmt);
		texts_known(&pending, queryDesc->plannedstmt->queryId, GetUserId());

		/*
		 * Sampling must be decided before the executor builds the plan
		 * state: row counts per node for a random fraction of executions,
		 * and for the first execution of a plan the store has not seen yet
		 * (until this backend has sent its text, so a burst of a new plan
		 * is not all instrumented while the collector catches up).
		 */
		if (capture_sample_rate > 0 &&
			(pg_prng_double(&pg_global_prng_state) < capture_sample_rate ||
			 (!pending.plan_text_known &&
			  !text_sent_recently(store_plan_textkey(MyDatabaseId, queryDesc->plannedstmt->queryId,
													 pending.planid),
								  GetCurrentStatementStartTimestamp()))))
			queryDesc->instrument_options |= INSTRUMENT_ROWS;
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	/* The clock opens once the executor has started without error. */
	if (captured && clocks_reserve())
		open_queries[n_open_queries++] = pending;
}

static void
capture_ExecutorRun(PGA_EXECUTOR_RUN_PARAMS)
{
	ClockReading before = {0};	/* read only when timed; GCC 12 cannot see
									 * that through PG 18's headers */
	bool		timed = n_open_queries > 0 && clock_find(queryDesc) != NULL;

	if (timed)
		clock_read(&before);
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(PGA_EXECUTOR_RUN_ARGS);
		else
			standard_ExecutorRun(PGA_EXECUTOR_RUN_ARGS);
	}
	PG_CATCH();
	{
		nesting_level--;
		capture_error(queryDesc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;
	if (timed)
		clock_add(queryDesc, &before, true);
}

static void
capture_ExecutorFinish(QueryDesc *queryDesc)
{
	ClockReading before = {0};	/* as in capture_ExecutorRun */
	bool		timed;

	/*
	 * A plain SELECT has nothing to finish: no triggers, no data-modifying
	 * CTEs.  It runs no user code here, so it needs no clock and no catch.
	 */
	if (queryDesc->operation == CMD_SELECT && queryDesc->estate->es_auxmodifytables == NIL)
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
		return;
	}

	timed = n_open_queries > 0 && clock_find(queryDesc) != NULL;
	if (timed)
		clock_read(&before);
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
	if (timed)
		clock_add(queryDesc, &before, false);
}

static void
capture_ExecutorEnd(QueryDesc *queryDesc)
{
	QueryClock *clock = n_open_queries > 0 ? clock_find(queryDesc) : NULL;

	if (clock)
	{
		QueryClock	closed = *clock;
		CaptureEvent ev;

		clock_close(clock);
		fill_event(&ev, queryDesc, &closed, EVENT_EXECUTION);
		ev.elapsed_us = closed.elapsed_us;
		ev.rows = closed.rows;
		ev.shared_blks_hit = closed.shared_blks_hit;
		ev.shared_blks_read = closed.shared_blks_read;
		ev.temp_blks_written = closed.temp_blks_written;
		ev.wal_bytes = closed.wal_bytes;
		publish_event(&ev);
		if (!(closed.statement_text_known && closed.plan_text_known))
			send_missing_texts(queryDesc, &closed, &ev, true);

		/* Sampled (or EXPLAIN ANALYZE'd): read what each node did. */
		if (capture_sample_rate > 0 && queryDesc->planstate && queryDesc->planstate->instrument)
			scan_capture_record(queryDesc);
	}

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

void
capture_install_hooks(void)
{
	RegisterXactCallback(clocks_at_xact_end, NULL);
	RegisterSubXactCallback(clocks_at_subxact_abort, NULL);

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
