/*-------------------------------------------------------------------------
 *
 * ddl_guard.c
 *		The DDL guard: a ProcessUtility hook that classifies every DDL
 *		statement before it runs (ddl_classify.c) and warns about or blocks
 *		the ones that would hold a blocking lock for a rewrite or a full
 *		scan of a large table; the dry run architect.check_ddl(text); and
 *		architect.ddl_log, the recent DDL kept in shared memory.
 *
 * Hook chain: ddl_guard_init saves the previous ProcessUtility_hook and
 * installs ours; ours classifies, maybe raises, then calls the previous hook
 * (or standard_ProcessUtility).  Statements PostgreSQL runs internally on
 * behalf of another one (PROCESS_UTILITY_SUBCOMMAND) are not judged again.
 * The hook is installed whether or not we are preloaded, so the guard also
 * works on a managed instance once the library is loaded in the session.
 *
 * Shared memory (only when preloaded): DdlLogShared, a ring of
 * DDL_LOG_CAPACITY fixed-size entries.  Writers take
 * architect_lwlock(ARCHITECT_LOCK_DDL_LOG) exclusively for the copy of one
 * entry (DDL is rare, the copy is small); readers (ddl_log, status) take it
 * shared and copy out.  When the ring is full the oldest entry is
 * overwritten and counted in `overwritten`.  reset clears it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "commands/extension.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "portability/instr_time.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "guard/ddl_classify.h"
#include "core/pg_architect.h"

PG_FUNCTION_INFO_V1(architect_check_ddl);
PG_FUNCTION_INFO_V1(architect_ddl_log);

typedef enum DdlGuardMode
{
	DDL_GUARD_OFF,
	DDL_GUARD_WARN,
	DDL_GUARD_BLOCK
} DdlGuardMode;

static const struct config_enum_entry ddl_guard_options[] = {
	{"off", DDL_GUARD_OFF, false},
	{"warn", DDL_GUARD_WARN, false},
	{"block", DDL_GUARD_BLOCK, false},
	{NULL, 0, false}
};

static int	ddl_guard_mode = DDL_GUARD_WARN;
int			ddl_guard_min_size_kb = 10 * 1024;

#define DDL_LOG_CAPACITY	256
#define DDL_LOG_TEXT		1024

typedef enum DdlAction
{
	DDL_ACTION_RAN,
	DDL_ACTION_WARNED,
	DDL_ACTION_BLOCKED
} DdlAction;

static const char *const action_names[] = {"ran", "warned", "blocked"};

typedef struct DdlLogEntry
{
	TimestampTz logged_at;
	Oid			userid;
	Oid			dbid;
	LOCKMODE	lockmode;
	bool		rewrites;
	uint8		risk;
	uint8		action;
	double		duration_ms;
	char		relation[2 * NAMEDATALEN + 8];
	char		statement[DDL_LOG_TEXT];
} DdlLogEntry;

typedef struct DdlLogShared
{
	uint64		written;		/* entries written since reset */
	uint64		overwritten;	/* of which overwritten by newer ones */
	uint64		warned;
	uint64		blocked;
	DdlLogEntry entries[DDL_LOG_CAPACITY];
} DdlLogShared;

static DdlLogShared *ddl_log = NULL;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* What one statement came to, summed over its relations. */
typedef struct DdlSummary
{
	DdlFinding *worst;
	LOCKMODE	lockmode;
	bool		rewrites;
} DdlSummary;

static void
summarize(List *findings, DdlSummary *sum)
{
	ListCell   *lc;

	memset(sum, 0, sizeof(*sum));
	foreach(lc, findings)
	{
		DdlFinding *f = lfirst(lc);

		if (sum->worst == NULL || f->risk > sum->worst->risk)
			sum->worst = f;
		if (f->lockmode > sum->lockmode)
			sum->lockmode = f->lockmode;
		sum->rewrites |= f->rewrites;
	}
}

/* The text of one statement of a possibly multi-statement string. */
static char *
statement_text(const char *source, int location, int len)
{
	const char *start;

	if (source == NULL)
		return pstrdup("");
	if (location < 0)
	{
		location = 0;
		len = 0;
	}
	start = source + location;
	if (len <= 0)
		len = strlen(start);
	while (len > 0 && isspace((unsigned char) *start))
	{
		start++;
		len--;
	}
	while (len > 0 && isspace((unsigned char) start[len - 1]))
		len--;
	return pnstrdup(start, len);
}

static void
log_ddl(const char *stmt, DdlSummary *sum, DdlAction action, double ms)
{
	DdlLogEntry *e;
	int			n;

	if (ddl_log == NULL)
		return;
	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_DDL_LOG), LW_EXCLUSIVE);
	if (ddl_log->written >= DDL_LOG_CAPACITY)
		ddl_log->overwritten++;
	e = &ddl_log->entries[ddl_log->written % DDL_LOG_CAPACITY];
	ddl_log->written++;
	if (action == DDL_ACTION_WARNED)
		ddl_log->warned++;
	else if (action == DDL_ACTION_BLOCKED)
		ddl_log->blocked++;
	e->logged_at = GetCurrentTimestamp();
	e->userid = GetUserId();
	e->dbid = MyDatabaseId;
	e->lockmode = sum->lockmode;
	e->rewrites = sum->rewrites;
	e->risk = sum->worst ? sum->worst->risk : DDL_RISK_NONE;
	e->action = action;
	e->duration_ms = ms;
	/* cut on a character boundary: the log is read as text */
	{
		const char *rel = (sum->worst && sum->worst->relation) ? sum->worst->relation : "";

		n = pg_mbcliplen(rel, strlen(rel), sizeof(e->relation) - 1);
		memcpy(e->relation, rel, n);
		e->relation[n] = '\0';
	}
	n = pg_mbcliplen(stmt, strlen(stmt), DDL_LOG_TEXT - 1);
	memcpy(e->statement, stmt, n);
	e->statement[n] = '\0';
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_DDL_LOG));
}

static void
ddl_guard_raise(Node *parsetree, DdlFinding *f)
{
	char	   *target;
	const char *blocking;

	if (f->whole_database || f->relation == NULL)
		target = pstrdup("every table of the database");
	else if (f->bytes >= 0)
		target = psprintf("table %s (%s)", f->relation,
						  text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty,
																			 Int64GetDatum(f->bytes)))));
	else
		target = psprintf("table %s (size unknown)", f->relation);
	blocking = f->blocks_reads && f->blocks_writes ? "reads and writes" :
		f->blocks_reads ? "reads" : "writes";

	ereport(ddl_guard_mode == DDL_GUARD_BLOCK ? ERROR : WARNING,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s would %s %s while holding %s, blocking %s",
					CreateCommandName(parsetree),
					f->rewrites ? "rewrite" : "scan", target,
					f->lockmode != NoLock ? ddl_lock_name(f->lockmode) : "no lock",
					blocking),
			 errdetail("pg_architect.ddl_guard: %s.", f->reason.data),
			 errhint("%s%sTo run it anyway: SET LOCAL pg_architect.ddl_guard = off.",
					 f->safer.data, f->safer.len > 0 ? " " : "")));
}

/*
 * ddl_classify() inside an internal subtransaction that is rolled back on
 * error: an error of the classifier (a relation that a statement will fail
 * on anyway, a bound PostgreSQL will reject with its own message and
 * cursor position) never surfaces and never replaces PostgreSQL's own; the
 * statement then goes on unclassified, and *failure says why.  Query
 * cancellation is not swallowed.  The subtransaction is over before the
 * statement runs, so statements that refuse to run in a transaction block
 * (VACUUM, CREATE INDEX CONCURRENTLY) are unaffected.
 */
static List *
classify_safely(Node *parsetree, DdlTextState *state, char **failure)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	List	   *volatile findings = NIL;

	*failure = NULL;
	if (!ddl_is_classified(parsetree))
		return ddl_classify(parsetree, state);	/* judges nothing, cannot fail */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		findings = ddl_classify(parsetree, state);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		*failure = edata->message ? edata->message : pstrdup("unknown error");
		findings = NIL;
	}
	PG_END_TRY();
	return findings;
}

static bool
worth_logging(Node *parsetree)
{
	return ddl_is_classified(parsetree) || GetCommandLogLevel(parsetree) == LOGSTMT_DDL;
}

static void
ddl_guard_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
#if PG_VERSION_NUM >= 140000
						 bool readOnlyTree,
#endif
						 ProcessUtilityContext context, ParamListInfo params,
						 QueryEnvironment *queryEnv, DestReceiver *dest,
						 QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		judge = context != PROCESS_UTILITY_SUBCOMMAND &&
		(ddl_guard_mode != DDL_GUARD_OFF || ddl_log != NULL) &&
		worth_logging(parsetree);
	DdlSummary	sum;
	DdlAction	action = DDL_ACTION_RAN;
	char	   *stmt = NULL;
	instr_time	start;

	memset(&sum, 0, sizeof(sum));
	if (judge)
	{
		char	   *failure;
		List	   *findings = classify_safely(parsetree, NULL, &failure);

		summarize(findings, &sum);
		stmt = statement_text(queryString, pstmt->stmt_location, pstmt->stmt_len);
		if (ddl_guard_mode != DDL_GUARD_OFF && sum.worst != NULL &&
			sum.worst->risk == DDL_RISK_HIGH)
		{
			if (ddl_guard_mode == DDL_GUARD_BLOCK && !creating_extension)
				log_ddl(stmt, &sum, DDL_ACTION_BLOCKED, 0);
			else
				action = DDL_ACTION_WARNED;
			ddl_guard_raise(parsetree, sum.worst);
		}
		INSTR_TIME_SET_CURRENT(start);
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString,
#if PG_VERSION_NUM >= 140000
							readOnlyTree,
#endif
							context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString,
#if PG_VERSION_NUM >= 140000
								readOnlyTree,
#endif
								context, params, queryEnv, dest, qc);

	/* An extension script's statements are logged as the CREATE EXTENSION. */
	if (judge && ddl_log != NULL && !creating_extension)
	{
		instr_time	end;

		INSTR_TIME_SET_CURRENT(end);
		INSTR_TIME_SUBTRACT(end, start);
		log_ddl(stmt, &sum, action, INSTR_TIME_GET_MILLISEC(end));
	}
}

void
ddl_guard_init(void)
{
	DefineCustomEnumVariable("pg_architect.ddl_guard",
							 "What to do with DDL that would hold a blocking lock while it rewrites or scans a large table.",
							 "off: nothing; warn: a WARNING with a safer alternative; block: an ERROR.  Superuser-set, so that a role cannot turn off what the DBA set; GRANT SET ON PARAMETER pg_architect.ddl_guard TO a migration role lets it SET LOCAL pg_architect.ddl_guard = off for one transaction.",
							 &ddl_guard_mode,
							 DDL_GUARD_WARN,
							 ddl_guard_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_architect.ddl_guard_min_size",
							"Tables smaller than this are exempt from the DDL guard.",
							"Rewriting or scanning a table this small takes milliseconds.  0 judges every table.",
							&ddl_guard_min_size_kb,
							10 * 1024, 0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ddl_guard_ProcessUtility;
}

Size
ddl_guard_shmem_size(void)
{
	return MAXALIGN(sizeof(DdlLogShared));
}

void
ddl_guard_shmem_startup(void)
{
	bool		found;

	ddl_log = architect_shmem_alloc("pg_architect ddl_log", sizeof(DdlLogShared), &found);
	if (!found)
		memset(ddl_log, 0, sizeof(DdlLogShared));
}

void
ddl_guard_status(StatusEmitFn emit, void *ctx)
{
	uint64		written,
				overwritten,
				warned,
				blocked;

	if (ddl_log == NULL)
		return;
	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_DDL_LOG), LW_SHARED);
	written = ddl_log->written;
	overwritten = ddl_log->overwritten;
	warned = ddl_log->warned;
	blocked = ddl_log->blocked;
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_DDL_LOG));

	emit(ctx, "ddl_log_capacity", DDL_LOG_CAPACITY, "entries",
		 "DDL statements architect.ddl_log keeps; older ones are overwritten");
	emit(ctx, "ddl_logged", (double) written, "statements",
		 "DDL statements logged since the last reset");
	emit(ctx, "ddl_log_overwritten", (double) overwritten, "statements",
		 "logged DDL statements overwritten by newer ones since the last reset");
	emit(ctx, "ddl_guard_warned", (double) warned, "statements",
		 "DDL statements the guard warned about since the last reset");
	emit(ctx, "ddl_guard_blocked", (double) blocked, "statements",
		 "DDL statements the guard blocked since the last reset");
}

void
ddl_guard_reset(void)
{
	if (ddl_log == NULL)
		return;
	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_DDL_LOG), LW_EXCLUSIVE);
	memset(ddl_log, 0, sizeof(DdlLogShared));
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_DDL_LOG));
}

/* ---------- architect.check_ddl(text) ---------- */

/*
 * Errors from the parser carry a cursor position into the checked text, not
 * into the query that called check_ddl: report it as an internal query so
 * that psql points at the right character.
 */
static void
check_ddl_parse_error_callback(void *arg)
{
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery((const char *) arg);
	}
	errcontext("parsing the text given to architect.check_ddl");
}

typedef struct CheckCtx
{
	int			statement_no;
} CheckCtx;

static void
check_ddl_statement_callback(void *arg)
{
	errcontext("statement %d of the text given to architect.check_ddl",
			   ((CheckCtx *) arg)->statement_no);
}

#define CHECK_DDL_COLS 12

static void
put_row(ReturnSetInfo *rsinfo, int no, const char *stmt, DdlFinding *f,
		const char *reason)
{
	Datum		values[CHECK_DDL_COLS];
	bool		nulls[CHECK_DDL_COLS];

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int32GetDatum(no);
	values[1] = CStringGetTextDatum(stmt);
	if (f == NULL)
	{
		nulls[2] = nulls[3] = nulls[8] = nulls[11] = true;
		values[4] = values[5] = values[6] = values[7] = BoolGetDatum(false);
		values[9] = CStringGetTextDatum(ddl_risk_name(DDL_RISK_NONE));
		values[10] = CStringGetTextDatum(reason);
	}
	else
	{
		if (f->relation)
			values[2] = CStringGetTextDatum(f->relation);
		else
			nulls[2] = true;
		if (f->lockmode != NoLock)
			values[3] = CStringGetTextDatum(ddl_lock_name(f->lockmode));
		else
			nulls[3] = true;
		values[4] = BoolGetDatum(f->rewrites);
		values[5] = BoolGetDatum(f->scans);
		values[6] = BoolGetDatum(f->blocks_reads);
		values[7] = BoolGetDatum(f->blocks_writes);
		if (f->bytes >= 0)
			values[8] = Int64GetDatum(f->bytes);
		else
			nulls[8] = true;
		values[9] = CStringGetTextDatum(ddl_risk_name(f->risk));
		values[10] = CStringGetTextDatum(f->reason.data);
		if (f->safer.len > 0)
			values[11] = CStringGetTextDatum(f->safer.data);
		else
			nulls[11] = true;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
architect_check_ddl(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ErrorContextCallback errcb;
	List	   *raw;
	ListCell   *lc;
	DdlTextState state;
	CheckCtx	cctx;

	InitMaterializedSRF(fcinfo, 0);

	errcb.callback = check_ddl_parse_error_callback;
	errcb.arg = sql;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	error_context_stack = errcb.previous;

	memset(&state, 0, sizeof(state));
	cctx.statement_no = 0;
	errcb.callback = check_ddl_statement_callback;
	errcb.arg = &cctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		char	   *stmt = statement_text(sql, rs->stmt_location, rs->stmt_len);
		List	   *findings;
		ListCell   *lc2;

		char	   *failure;

		cctx.statement_no++;
		findings = classify_safely(rs->stmt, &state, &failure);
		if (failure != NULL)
			put_row(rsinfo, cctx.statement_no, stmt, NULL,
					psprintf("not classified: %s", failure));
		else if (findings == NIL)
		{
			bool		ddl = GetCommandLogLevel(rs->stmt) == LOGSTMT_DDL;

			put_row(rsinfo, cctx.statement_no, stmt, NULL,
					ddl ? "takes no lock on an existing table's data" :
					"not DDL: not classified");
		}
		foreach(lc2, findings)
			put_row(rsinfo, cctx.statement_no, stmt, lfirst(lc2), NULL);
	}
	error_context_stack = errcb.previous;
	return (Datum) 0;
}

/* ---------- architect.ddl_log ---------- */

Datum
architect_ddl_log(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DdlLogEntry *copy;
	uint64		written;
	int			n,
				i;
	Oid			me = GetUserId();
	bool		see_all = superuser() || has_privs_of_role(me, ROLE_PG_READ_ALL_STATS);

	InitMaterializedSRF(fcinfo, 0);
	if (!architect_require_capture("architect.ddl_log") || ddl_log == NULL)
		return (Datum) 0;

	copy = palloc(sizeof(DdlLogEntry) * DDL_LOG_CAPACITY);
	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_DDL_LOG), LW_SHARED);
	written = ddl_log->written;
	n = (int) Min(written, (uint64) DDL_LOG_CAPACITY);
	for (i = 0; i < n; i++)
		copy[i] = ddl_log->entries[(written - n + i) % DDL_LOG_CAPACITY];
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_DDL_LOG));

	for (i = 0; i < n; i++)
	{
		DdlLogEntry *e = &copy[i];
		Datum		values[11];
		bool		nulls[11];
		char	   *role;

		memset(nulls, 0, sizeof(nulls));
		values[0] = TimestampTzGetDatum(e->logged_at);
		values[1] = ObjectIdGetDatum(e->userid);
		role = GetUserNameFromId(e->userid, true);
		if (role)
			values[2] = CStringGetTextDatum(role);
		else
			nulls[2] = true;
		values[3] = ObjectIdGetDatum(e->dbid);
		if (see_all || e->userid == me)
			values[4] = CStringGetTextDatum(e->statement);
		else
			values[4] = CStringGetTextDatum("<insufficient privilege>");
		/* which table, like the text: the role that ran it, or privileged */
		if (e->relation[0] && (see_all || e->userid == me))
			values[5] = CStringGetTextDatum(e->relation);
		else
			nulls[5] = true;
		if (e->lockmode != NoLock)
			values[6] = CStringGetTextDatum(ddl_lock_name(e->lockmode));
		else
			nulls[6] = true;
		values[7] = BoolGetDatum(e->rewrites);
		values[8] = CStringGetTextDatum(ddl_risk_name((DdlRisk) e->risk));
		values[9] = CStringGetTextDatum(action_names[e->action]);
		values[10] = Float8GetDatum(e->duration_ms);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
