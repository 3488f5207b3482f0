/*-------------------------------------------------------------------------
 *
 * capture_views.c
 *		SQL functions behind architect.statements, architect.plans and
 *		architect.latency_histogram().
 *
 * Contract: each function first drains the rings (capture_drain), so what
 * a DBA reads includes what just ran, then copies the entries under the
 * STATS lock held shared.  Without preload they return no rows and say why
 * once per session (architect_require_capture).
 *
 * Privileges follow pg_stat_statements: query and plan texts are shown to
 * superusers, members of pg_read_all_stats, and the role that ran the
 * statement; others get "<insufficient privilege>" and a NULL query id.
 * Plans are kept per (database, query id, plan id), whoever ran them, and
 * the plan text is the EXPLAIN of the first execution, with that
 * execution's constants: its text is shown only to the role that ran that
 * execution (text_userid), besides superusers and pg_read_all_stats; a role
 * that ran the same query id sees the plan's figures and query id, and
 * "<insufficient privilege>" for the text.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "capture/capture.h"
#include "core/pg_architect.h"

PG_FUNCTION_INFO_V1(architect_statements);
PG_FUNCTION_INFO_V1(architect_plans);
PG_FUNCTION_INFO_V1(architect_latency_histogram);

bool
capture_sees_all_texts(void)
{
	return superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

static Datum
ms_datum(double v, bool *isnull)
{
	*isnull = isnan(v) || isinf(v);
	return Float8GetDatum(v);
}

typedef struct QueryPlanCount
{
	PlanKey		key;			/* planid = 0: counts plans per (db, query) */
	int64		plans;
} QueryPlanCount;

Datum
architect_statements(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		all_texts = capture_sees_all_texts();
	Oid			me = GetUserId();
	HASH_SEQ_STATUS seq;
	StatementEntry *s;
	PlanEntry  *p;
	HTAB	   *plan_counts;
	HASHCTL		info;

	InitMaterializedSRF(fcinfo, 0);
	if (!architect_require_capture("architect.statements"))
		return (Datum) 0;
	capture_drain();

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(PlanKey);
	info.entrysize = sizeof(QueryPlanCount);
	info.hcxt = CurrentMemoryContext;
	plan_counts = hash_create("pg_architect plan counts", 256, &info,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_SHARED);

	hash_seq_init(&seq, store_plans());
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		PlanKey		k;
		QueryPlanCount *c;
		bool		found;

		if (p->calls == 0 && p->errors == 0)
			continue;
		memset(&k, 0, sizeof(k));
		k.dbid = p->key.dbid;
		k.queryid = p->key.queryid;
		c = hash_search(plan_counts, &k, HASH_ENTER, &found);
		c->plans = found ? c->plans + 1 : 1;
	}

	hash_seq_init(&seq, store_statements());
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[22];
		bool		nulls[22];
		int			i = 0;
		bool		visible = all_texts || s->key.userid == me;
		PlanKey		k;
		QueryPlanCount *c;

		if (s->calls == 0 && s->errors == 0)
			continue;			/* text arrived before its first event */
		memset(nulls, 0, sizeof(nulls));
		memset(&k, 0, sizeof(k));
		k.dbid = s->key.dbid;
		k.queryid = s->key.queryid;
		c = hash_search(plan_counts, &k, HASH_FIND, NULL);

		values[i++] = ObjectIdGetDatum(s->key.userid);
		values[i++] = ObjectIdGetDatum(s->key.dbid);
		if (visible)
			values[i++] = Int64GetDatum((int64) s->key.queryid);
		else
			nulls[i++] = true;
		values[i++] = BoolGetDatum(s->key.toplevel);
		if (!visible)
			values[i++] = CStringGetTextDatum("<insufficient privilege>");
		else if (DsaPointerIsValid(s->text))
			values[i++] = CStringGetTextDatum(store_fetch_text(s->text, s->text_len));
		else
			nulls[i++] = true;
		values[i++] = Int64GetDatum(s->calls);
		values[i++] = Int64GetDatum(s->errors);
		values[i++] = Int64GetDatum(s->rows);
		values[i++] = Float8GetDatum(s->total_ms);
		values[i] = ms_datum(s->calls > 0 ? s->total_ms / s->calls : NAN, &nulls[i]);
		i++;
		values[i] = ms_datum(s->calls > 0 ? s->min_ms : NAN, &nulls[i]);
		i++;
		values[i] = ms_datum(s->calls > 0 ? s->max_ms : NAN, &nulls[i]);
		i++;
		values[i] = ms_datum(hist_percentile_ms(&s->hist, 0.50, s->min_ms, s->max_ms), &nulls[i]);
		i++;
		values[i] = ms_datum(hist_percentile_ms(&s->hist, 0.95, s->min_ms, s->max_ms), &nulls[i]);
		i++;
		values[i] = ms_datum(hist_percentile_ms(&s->hist, 0.99, s->min_ms, s->max_ms), &nulls[i]);
		i++;
		values[i++] = Int64GetDatum(s->shared_blks_hit);
		values[i++] = Int64GetDatum(s->shared_blks_read);
		values[i++] = Int64GetDatum(s->temp_blks_written);
		values[i++] = DirectFunctionCall3(numeric_in, CStringGetDatum(psprintf(UINT64_FORMAT, s->wal_bytes)),
										  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		values[i++] = Int64GetDatum(c ? c->plans : 0);
		values[i++] = TimestampTzGetDatum(s->first_seen);
		values[i++] = TimestampTzGetDatum(s->last_seen);
		Assert(i == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));
	return (Datum) 0;
}

/*
 * Which (db, query) pairs the caller ran itself: plan texts of those are
 * theirs to read.  Caller holds the STATS lock.
 */
HTAB *
capture_own_queries(void)
{
	HASHCTL		info;
	HTAB	   *own;
	HASH_SEQ_STATUS seq;
	StatementEntry *s;
	Oid			me = GetUserId();

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(PlanKey);
	info.entrysize = sizeof(PlanKey);
	info.hcxt = CurrentMemoryContext;
	own = hash_create("pg_architect own queries", 256, &info,
					  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	hash_seq_init(&seq, store_statements());
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		PlanKey		k;

		if (s->key.userid != me)
			continue;
		memset(&k, 0, sizeof(k));
		k.dbid = s->key.dbid;
		k.queryid = s->key.queryid;
		(void) hash_search(own, &k, HASH_ENTER, NULL);
	}
	return own;
}

Datum
architect_plans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		all_texts = capture_sees_all_texts();
	HASH_SEQ_STATUS seq;
	PlanEntry  *p;
	HTAB	   *own = NULL;

	InitMaterializedSRF(fcinfo, 0);
	if (!architect_require_capture("architect.plans"))
		return (Datum) 0;
	capture_drain();

	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_SHARED);
	if (!all_texts)
		own = capture_own_queries();

	hash_seq_init(&seq, store_plans());
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[14];
		bool		nulls[14];
		int			i = 0;
		PlanKey		k;
		bool		visible;
		bool		text_visible;

		if (p->calls == 0 && p->errors == 0)
			continue;
		memset(nulls, 0, sizeof(nulls));
		memset(&k, 0, sizeof(k));
		k.dbid = p->key.dbid;
		k.queryid = p->key.queryid;
		visible = all_texts || hash_search(own, &k, HASH_FIND, NULL) != NULL;
		text_visible = all_texts || p->text_userid == GetUserId();

		values[i++] = ObjectIdGetDatum(p->key.dbid);
		if (visible)
			values[i++] = Int64GetDatum((int64) p->key.queryid);
		else
			nulls[i++] = true;
		values[i++] = Int64GetDatum((int64) p->key.planid);
		values[i++] = Int64GetDatum(p->calls);
		values[i++] = Int64GetDatum(p->errors);
		values[i++] = Float8GetDatum(p->total_ms);
		values[i] = ms_datum(p->calls > 0 ? p->total_ms / p->calls : NAN, &nulls[i]);
		i++;
		values[i] = ms_datum(hist_percentile_ms(&p->hist, 0.50, p->min_ms, p->max_ms), &nulls[i]);
		i++;
		values[i] = ms_datum(hist_percentile_ms(&p->hist, 0.95, p->min_ms, p->max_ms), &nulls[i]);
		i++;
		values[i] = ms_datum(hist_percentile_ms(&p->hist, 0.99, p->min_ms, p->max_ms), &nulls[i]);
		i++;
		values[i] = ms_datum(p->calls > 0 ? p->max_ms : NAN, &nulls[i]);
		i++;
		values[i++] = TimestampTzGetDatum(p->first_seen);
		values[i++] = TimestampTzGetDatum(p->last_seen);
		if (!text_visible)
			values[i++] = CStringGetTextDatum("<insufficient privilege>");
		else if (DsaPointerIsValid(p->text))
			values[i++] = CStringGetTextDatum(store_fetch_text(p->text, p->text_len));
		else
			nulls[i++] = true;
		Assert(i == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));
	return (Datum) 0;
}

/*
 * The captured statements of database dbid that have a text and the caller
 * may see (superuser, pg_read_all_stats: all; others: their own), one
 * entry per (role, query id) summed over nesting, in CurrentMemoryContext.
 * The userid is the store's, never the caller's: the advisor plans each
 * text as its role (advisor_identity.c).
 */
typedef struct CapturedKey
{
	uint64		queryid;
	Oid			userid;
} CapturedKey;

typedef struct SeenStatement
{
	CapturedKey key;			/* hash key, must be first */
	CapturedStatement *cs;
} SeenStatement;

List *
capture_statements_of_database(Oid dbid)
{
	bool		all_texts = capture_sees_all_texts();
	Oid			me = GetUserId();
	HASH_SEQ_STATUS seq;
	StatementEntry *s;
	List	   *out = NIL;
	HTAB	   *seen;
	HASHCTL		info;

	if (!architect_require_capture("architect.index_advice"))
		return NIL;
	capture_drain();

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(CapturedKey);
	info.entrysize = sizeof(SeenStatement);
	info.hcxt = CurrentMemoryContext;
	seen = hash_create("pg_architect statements of a database", 256, &info,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_SHARED);
	hash_seq_init(&seq, store_statements());
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		SeenStatement *e;
		bool		found;
		CapturedKey key;

		if (s->key.dbid != dbid || s->calls == 0 || !DsaPointerIsValid(s->text) ||
			!(all_texts || s->key.userid == me))
			continue;
		/* one entry per (role, query id): toplevel and nested summed */
		memset(&key, 0, sizeof(key));
		key.queryid = s->key.queryid;
		key.userid = s->key.userid;
		e = hash_search(seen, &key, HASH_ENTER, &found);
		if (!found)
		{
			e->cs = palloc0(sizeof(CapturedStatement));
			e->cs->queryid = s->key.queryid;
			e->cs->userid = s->key.userid;
			e->cs->text = store_fetch_text(s->text, s->text_len);
			out = lappend(out, e->cs);
		}
		e->cs->total_ms += s->total_ms;
	}
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));
	hash_destroy(seen);
	return out;
}

/*
 * Buckets of one query id's latency histogram, summed over users, databases
 * and nesting, for plots.  Only non-empty buckets are returned.
 */
Datum
architect_latency_histogram(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint64		queryid = (uint64) PG_GETARG_INT64(0);
	bool		all_texts = capture_sees_all_texts();
	Oid			me = GetUserId();
	HASH_SEQ_STATUS seq;
	StatementEntry *s;
	uint64		counts[HIST_BUCKETS];
	int			b;

	InitMaterializedSRF(fcinfo, 0);
	if (!architect_require_capture("architect.latency_histogram()"))
		return (Datum) 0;
	capture_drain();

	memset(counts, 0, sizeof(counts));
	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_SHARED);
	hash_seq_init(&seq, store_statements());
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		if (s->key.queryid != queryid || !(all_texts || s->key.userid == me))
			continue;
		for (b = 0; b < HIST_BUCKETS; b++)
			counts[b] += s->hist.counts[b];
	}
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));

	for (b = 0; b < HIST_BUCKETS; b++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (counts[b] == 0)
			continue;
		values[0] = Float8GetDatum(hist_bucket_lower_us(b) / 1000.0);
		values[1] = Float8GetDatum(hist_bucket_lower_us(b + 1) / 1000.0);
		values[2] = Int64GetDatum((int64) counts[b]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
