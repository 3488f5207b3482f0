/*-------------------------------------------------------------------------
 *
 * scan_views.c
 *		architect.scans(): the scan observations, with operators classified
 *		and columns named through the catalog — work kept off the hot path.
 *
 * Contract: drains the rings (capture_drain), copies the scan entries under
 * the STATS lock held shared, then releases it before any catalog lookup
 * (syscache lookups may take locks and run invalidation: never under our
 * LWLock).  Classification of an operator uses its btree interpretation:
 * strategy 3 is equality, 1/2/4/5 a range; LIKE patterns with a literal
 * prefix are "like_prefix"; a column under a function is "expression".
 *
 * Callers: SQL (architect.scans, sql/parts/20_scans.sql), and through the
 * view the advisor's scan-derived candidates and architect.index_usage.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "capture/capture.h"
#include "core/pg_architect.h"

PG_FUNCTION_INFO_V1(architect_scans);

static const char *
kind_name(uint8 kind)
{
	switch (kind)
	{
		case SCAN_SEQ:
			return "seq";
		case SCAN_INDEX:
			return "index";
		case SCAN_INDEX_ONLY:
			return "index_only";
		case SCAN_BITMAP:
			return "bitmap";
		case SCAN_JOIN:
			return "join";
		case SCAN_SORT:
			return "sort";
	}
	return "unknown";
}

static const char *
value_kind_name(uint8 vk)
{
	switch (vk)
	{
		case VALUE_CONST:
			return "constant";
		case VALUE_PARAM:
			return "parameter";
		case VALUE_OUTER:
			return "outer";
		case VALUE_EXPR:
			return "expression";
	}
	return NULL;
}

/* The operator as written with the column on the left. */
static Oid
column_left_operator(const ScanPredicate *p)
{
	if ((p->flags & PRED_COMMUTED) && OidIsValid(p->opno))
	{
		Oid			com = get_commutator(p->opno);

		return OidIsValid(com) ? com : p->opno;
	}
	return p->opno;
}

static const char *
classify(const ScanPredicate *p)
{
	Oid			opno = column_left_operator(p);
	List	   *interp;
	ListCell   *lc;
	char	   *name;
	bool		range = false;

	switch (p->shape)
	{
		case PRED_IN_LIST:
			return OidIsValid(p->funcid) ? "expression" : "in_list";
		case PRED_IS_NULL:
			return "is_null";
		case PRED_IS_NOT_NULL:
			return "is_not_null";
		case PRED_BOOL:
			return "equality";
		case PRED_OTHER:
			return "other";
		case PRED_SORTKEY:
			{
				Oid			opfamily,
							opcintype;
				int16		strategy;

				if (get_ordering_op_properties(p->opno, &opfamily, &opcintype, &strategy))
					return strategy == BTGreaterStrategyNumber ? "desc" : "asc";
				return "asc";
			}
		default:
			break;
	}
	if (OidIsValid(p->funcid))
		return "expression";

	interp = get_op_btree_interpretation(opno);
	foreach(lc, interp)
	{
		OpBtreeInterpretation *bi = lfirst(lc);

		if (bi->strategy == BTEqualStrategyNumber)
			return "equality";
		if (bi->strategy != ROWCOMPARE_NE)
			range = true;
	}
	if (range)
		return "range";
	name = get_opname(opno);
	if (name && (strcmp(name, "~~") == 0 || strcmp(name, "~~*") == 0))
		return (p->flags & PRED_LIKE_PREFIX) ? "like_prefix" : "like";
	return "other";
}

static const char *
source_name(uint8 flags)
{
	if (flags & PRED_SRC_INDEX)
		return "index_cond";
	if (flags & PRED_SRC_JOIN)
		return "join";
	if (flags & PRED_SRC_FILTER)
		return "filter";
	return "sort";
}

static Datum
text_array(Datum *elems, bool *nulls, int n)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};

	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  TEXTOID, -1, false, TYPALIGN_INT));
}

Datum
architect_scans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	ScanEntry  *e;
	ScanEntry  *copy;
	long		n = 0;
	long		i;

	InitMaterializedSRF(fcinfo, 0);
	if (!architect_require_capture("architect.scans"))
		return (Datum) 0;
	capture_drain();

	LWLockAcquire(architect_lwlock(ARCHITECT_LOCK_STATS), LW_SHARED);
	copy = palloc(sizeof(ScanEntry) * Max(hash_get_num_entries(store_scans()), 1));
	hash_seq_init(&seq, store_scans());
	while ((e = hash_seq_search(&seq)) != NULL)
		copy[n++] = *e;
	LWLockRelease(architect_lwlock(ARCHITECT_LOCK_STATS));

	for (i = 0; i < n; i++)
	{
		ScanEntry  *s = &copy[i];
		ScanEvent  *ev = &s->sample;
		Datum		values[22];
		bool		nulls[22];
		Datum		cols[SCAN_MAX_PREDS],
					ops[SCAN_MAX_PREDS],
					classes[SCAN_MAX_PREDS],
					vkinds[SCAN_MAX_PREDS],
					sources[SCAN_MAX_PREDS],
					exprs[SCAN_MAX_PREDS],
					others[SCAN_MAX_PREDS];
		bool		cols_n[SCAN_MAX_PREDS],
					ops_n[SCAN_MAX_PREDS],
					vkinds_n[SCAN_MAX_PREDS],
					exprs_n[SCAN_MAX_PREDS],
					others_n[SCAN_MAX_PREDS],
					no_nulls[SCAN_MAX_PREDS];
		int			k;
		int			c = 0;

		for (k = 0; k < ev->npreds; k++)
		{
			ScanPredicate *p = &ev->preds[k];
			char	   *att = p->attno > 0 ? get_attname(ev->relid, p->attno, true) : NULL;
			char	   *opname = OidIsValid(p->opno) ? get_opname(column_left_operator(p)) : NULL;
			const char *vk = value_kind_name(p->value_kind);
			char	   *fname = OidIsValid(p->funcid) ? get_func_name(p->funcid) : NULL;
			char	   *other = (ev->kind == SCAN_JOIN && p->other_attno > 0 && OidIsValid(ev->other_relid)) ?
				get_attname(ev->other_relid, p->other_attno, true) : NULL;

			cols_n[k] = att == NULL;
			cols[k] = att ? CStringGetTextDatum(att) : (Datum) 0;
			if (p->shape == PRED_IS_NULL || p->shape == PRED_IS_NOT_NULL)
				opname = p->shape == PRED_IS_NULL ? "IS NULL" : "IS NOT NULL";
			else if (p->shape == PRED_IN_LIST && opname)
				opname = psprintf("%s ANY", opname);
			ops_n[k] = opname == NULL;
			ops[k] = opname ? CStringGetTextDatum(opname) : (Datum) 0;
			classes[k] = CStringGetTextDatum(classify(p));
			vkinds_n[k] = vk == NULL;
			vkinds[k] = vk ? CStringGetTextDatum(vk) : (Datum) 0;
			sources[k] = CStringGetTextDatum(source_name(p->flags));
			exprs_n[k] = fname == NULL;
			exprs[k] = fname ? CStringGetTextDatum(fname) : (Datum) 0;
			others_n[k] = other == NULL;
			others[k] = other ? CStringGetTextDatum(other) : (Datum) 0;
			no_nulls[k] = false;
		}

		memset(nulls, 0, sizeof(nulls));
		values[c++] = ObjectIdGetDatum(ev->dbid);
		values[c++] = Int64GetDatum((int64) s->key.queryid);
		values[c++] = ObjectIdGetDatum(ev->relid);
		values[c++] = CStringGetTextDatum(kind_name(ev->kind));
		if (OidIsValid(ev->indexid))
			values[c++] = ObjectIdGetDatum(ev->indexid);
		else
			nulls[c++] = true;
		values[c++] = text_array(cols, cols_n, ev->npreds);
		values[c++] = text_array(ops, ops_n, ev->npreds);
		values[c++] = text_array(classes, no_nulls, ev->npreds);
		values[c++] = text_array(vkinds, vkinds_n, ev->npreds);
		values[c++] = text_array(sources, no_nulls, ev->npreds);
		values[c++] = text_array(exprs, exprs_n, ev->npreds);
		if (ev->kind == SCAN_JOIN)
		{
			values[c++] = CStringGetTextDatum(ev->join_method == 'h' ? "hash" :
											  ev->join_method == 'm' ? "merge" : "nested_loop");
			if (OidIsValid(ev->other_relid))
				values[c++] = ObjectIdGetDatum(ev->other_relid);
			else
				nulls[c++] = true;
			values[c++] = text_array(others, others_n, ev->npreds);
		}
		else
		{
			nulls[c++] = true;
			nulls[c++] = true;
			nulls[c++] = true;
		}
		values[c++] = BoolGetDatum(ev->limit_above);
		values[c++] = Int64GetDatum(s->executions);
		values[c++] = Float8GetDatum(s->loops);
		values[c++] = Float8GetDatum(s->rows_returned + s->rows_removed + s->rows_rechecked_away);
		values[c++] = Float8GetDatum(s->rows_returned);
		values[c++] = Float8GetDatum(s->rows_removed);
		values[c++] = TimestampTzGetDatum(s->first_seen);
		values[c++] = TimestampTzGetDatum(s->last_seen);
		Assert(c == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
