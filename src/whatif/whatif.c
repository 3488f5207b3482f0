/*-------------------------------------------------------------------------
 *
 * whatif.c
 *		The what-if engine: analyse a statement once, plan it with and
 *		without hypothetical indexes, report costs and plans.
 *
 * Contract.  Statements are parsed, analysed and rewritten once
 * (whatif_prepare) and planned as many times as the caller wants
 * (whatif_plan), each time on a copy of the analysed tree, with the given
 * hypothetical indexes pushed for the duration of planning only (PG_FINALLY
 * pops them).  Nothing is ever executed: plan text comes from EXPLAIN's
 * explain-only executor start, which does not open index relations.
 *
 * Parameters ($1, $2, ...) are typed by parse analysis with variable
 * parameters and planned as a generic plan (no bound values), which is what
 * a prepared statement's generic plan would be.  Texts normalised by
 * pg_stat_statements ("interval $1", from interval '1 day') are re-typed
 * to "$1::interval" first (whatif_retype_params).
 *
 * SQL: architect.whatif(query, indexes), architect.hypothetical_index(ddl).
 *
 * Planning calls standard_planner directly, not planner_hook: a what-if
 * plan is not workload, and capture must not count it.  Locks: the ones
 * EXPLAIN takes (AccessShareLock for SELECT, RowExclusiveLock on a DML
 * target), held to the end of the transaction.  Privileges: the caller
 * must hold the privileges the statement needs (ExecCheckRTPerms on the
 * flattened range table), as for EXPLAIN.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "core/compat.h"

#include "core/pg_architect.h"
#include "whatif/whatif.h"

PG_FUNCTION_INFO_V1(architect_whatif);
PG_FUNCTION_INFO_V1(architect_hypothetical_index);

void
whatif_init(void)
{
	static bool done = false;

	if (done)
		return;
	done = true;

	hypo_index_install_hooks();
}

static void
whatif_reject(Node *stmt, const char *text)
{
	const char *tag = CreateCommandName(stmt);

	if (IsA(stmt, SelectStmt))
		tag = "SELECT INTO";
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot plan utility statement %s", tag),
			 errdetail("Statement: %s", text),
			 errhint("The what-if engine plans SELECT, INSERT, UPDATE, DELETE and MERGE statements only.")));
}

/*
 * pg_stat_statements normalises a typed literal such as timestamptz '...'
 * or interval '1 day' into "timestamptz $1", which is not SQL.  Rewrite
 * "<type name> $n" into "$n::<type name>" outside quotes and comments.  A
 * type name directly followed by a parameter never occurs in valid SQL, so
 * this cannot change the meaning of a statement that parses.
 */
static const char *const typed_literal_types[] = {
	"timestamp without time zone", "timestamp with time zone",
	"time without time zone", "time with time zone",
	"double precision", "character varying",
	"timestamptz", "timestamp", "timetz", "time", "date", "interval",
	"numeric", "decimal", "integer", "int", "int2", "int4", "int8",
	"bigint", "smallint", "real", "float4", "float8", "boolean", "bool",
	"text", "varchar", "char", "character", "bytea", "uuid", "jsonb",
	"json", "inet", "cidr", "macaddr", "money", "xml", "bit", "varbit",
	"point", "box", "tsquery", "tsvector", NULL
};

static bool
is_ident_char(char c)
{
	return isalnum((unsigned char) c) || c == '_' || (unsigned char) c >= 0x80;
}

static const char *
whatif_retype_params(const char *text)
{
	StringInfoData out;
	const char *p = text;
	const char *copied = text;
	bool		changed = false;

	if (strchr(text, '$') == NULL)
		return text;
	initStringInfo(&out);
	while (*p)
	{
		if (*p == '\'' || *p == '"')
		{
			char		q = *p++;

			while (*p && !(*p == q && p[1] != q))
				p += (*p == q) ? 2 : 1;
			if (*p)
				p++;
			continue;
		}
		if (p[0] == '-' && p[1] == '-')
		{
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (p[0] == '/' && p[1] == '*')
		{
			const char *end = strstr(p + 2, "*/");

			p = end ? end + 2 : p + strlen(p);
			continue;
		}
		if (*p == '$' && isdigit((unsigned char) p[1]) && (p == text || !is_ident_char(p[-1])))
		{
			const char *num = p + 1;
			const char *numend = num;
			const char *before = p;
			int			k;

			while (isdigit((unsigned char) *numend))
				numend++;
			while (before > copied && isspace((unsigned char) before[-1]))
				before--;
			for (k = 0; typed_literal_types[k] != NULL; k++)
			{
				const char *tn = typed_literal_types[k];
				size_t		len = strlen(tn);
				const char *start = before - len;

				if (before - copied < (ptrdiff_t) len || before == p)
					continue;
				if (pg_strncasecmp(start, tn, len) != 0)
					continue;
				/* a whole word, not a qualified or quoted name */
				if (start > text && (is_ident_char(start[-1]) || start[-1] == '.' ||
									 start[-1] == '"'))
					continue;
				appendBinaryStringInfo(&out, copied, start - copied);
				appendStringInfo(&out, "$%.*s::%s", (int) (numend - num), num, tn);
				copied = numend;
				changed = true;
				break;
			}
			p = numend;
			continue;
		}
		p++;
	}
	if (!changed)
		return text;
	appendStringInfoString(&out, copied);
	return out.data;
}

/*
 * Parse, analyse and rewrite one statement.  Errors (syntax, unknown
 * table, utility statement, several statements) are raised here, with the
 * parser's own error codes where it has one.
 */
WhatifStmt *
whatif_prepare(const char *text)
{
	WhatifStmt *s;
	List	   *raws;
	RawStmt    *raw;
	List	   *queries;
	Query	   *q;
	Oid		   *ptypes = NULL;
	int			nparams = 0;
	int			nestlevel = -1;
	int			i;

	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be null"),
				 errhint("Pass the text of a SELECT, INSERT, UPDATE or DELETE statement.")));

	text = whatif_retype_params(text);
	raws = raw_parser(text, RAW_PARSE_DEFAULT);
	if (raws == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query is empty"),
				 errhint("Pass the text of a SELECT, INSERT, UPDATE or DELETE statement.")));
	if (list_length(raws) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query must be a single statement, got %d", list_length(raws)),
				 errhint("Pass one statement per call or per array element.")));
	raw = (RawStmt *) linitial(raws);

	switch (nodeTag(raw->stmt))
	{
		case T_SelectStmt:
			if (((SelectStmt *) raw->stmt)->intoClause != NULL)
				whatif_reject(raw->stmt, text);
			break;
		case T_InsertStmt:
		case T_UpdateStmt:
		case T_DeleteStmt:
		case T_MergeStmt:
			break;
		default:
			whatif_reject(raw->stmt, text);
	}

	/* compute the core query id (as pg_stat_statements shows it) */
	if (!IsQueryIdEnabled())
	{
		nestlevel = NewGUCNestLevel();
		(void) set_config_option("compute_query_id", "on", PGC_SUSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	}
	queries = pg_analyze_and_rewrite_varparams(raw, text, &ptypes, &nparams, NULL);
	if (nestlevel >= 0)
		AtEOXact_GUC(true, nestlevel);

	for (i = 0; i < nparams; i++)
		if (ptypes[i] == InvalidOid || ptypes[i] == UNKNOWNOID)
			ereport(ERROR,
					(errcode(ERRCODE_INDETERMINATE_DATATYPE),
					 errmsg("could not determine data type of parameter $%d", i + 1),
					 errhint("Add a cast, for example $%d::integer.", i + 1)));

	if (list_length(queries) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("statement is rewritten into %d statements", list_length(queries)),
				 errhint("Rules that add or replace statements are not supported by the what-if engine.")));
	q = (Query *) linitial(queries);
	if (q->commandType == CMD_UTILITY)
		whatif_reject(q->utilityStmt, text);

	s = (WhatifStmt *) palloc0(sizeof(WhatifStmt));
	s->text = pstrdup(text);
	s->query = q;
	s->nparams = nparams;
	s->paramtypes = ptypes;
	s->queryid = (int64) q->queryId;
	if (q->resultRelation > 0)
	{
		RangeTblEntry *rte = rt_fetch(q->resultRelation, q->rtable);

		s->result_relid = rte->relid;
		if (q->commandType == CMD_UPDATE)
			s->updated_cols = bms_copy(pga_rte_updated_cols(q, rte));
	}
	return s;
}

/* Plan a copy of the statement with "hypos" visible to the planner. */
PlannedStmt *
whatif_plan(WhatifStmt *s, List *hypos)
{
	Query	   *q = copyObject(s->query);
	PlannedStmt *volatile plan = NULL;
	List	   *prev;

	prev = hypo_push(hypos);
	PG_TRY();
	{
		plan = standard_planner(q, s->text, CURSOR_OPT_PARALLEL_OK, NULL);
	}
	PG_FINALLY();
	{
		hypo_pop(prev);
	}
	PG_END_TRY();

	if (!s->perms_checked)
	{
		pga_check_plan_permissions(plan, true);
		s->perms_checked = true;
	}
	return plan;
}

/* EXPLAIN text of a plan (costs, no execution). */
char *
whatif_explain(WhatifStmt *s, PlannedStmt *plan, List *hypos)
{
	ExplainState *es = NewExplainState();
	PlannedStmt *copy = copyObject(plan);
	List	   *prev;

	es->costs = true;
	es->format = EXPLAIN_FORMAT_TEXT;
	/* not workload: make sure no statistics module records it */
	copy->queryId = UINT64CONST(0);

	prev = hypo_push(hypos);
	PG_TRY();
	{
		ExplainBeginOutput(es);
		pga_explain_one_plan(copy, es, s->text);
		ExplainEndOutput(es);
	}
	PG_FINALLY();
	{
		hypo_pop(prev);
	}
	PG_END_TRY();

	/* drop the trailing newline */
	if (es->str->len > 0 && es->str->data[es->str->len - 1] == '\n')
		es->str->data[--es->str->len] = '\0';
	return es->str->data;
}

static void
used_walk(Plan *plan, List **out)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			*out = list_append_unique_oid(*out, ((IndexScan *) plan)->indexid);
			break;
		case T_IndexOnlyScan:
			*out = list_append_unique_oid(*out, ((IndexOnlyScan *) plan)->indexid);
			break;
		case T_BitmapIndexScan:
			*out = list_append_unique_oid(*out, ((BitmapIndexScan *) plan)->indexid);
			break;
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				used_walk((Plan *) lfirst(lc), out);
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				used_walk((Plan *) lfirst(lc), out);
			break;
		case T_BitmapAnd:
			foreach(lc, ((BitmapAnd *) plan)->bitmapplans)
				used_walk((Plan *) lfirst(lc), out);
			break;
		case T_BitmapOr:
			foreach(lc, ((BitmapOr *) plan)->bitmapplans)
				used_walk((Plan *) lfirst(lc), out);
			break;
		case T_SubqueryScan:
			used_walk(((SubqueryScan *) plan)->subplan, out);
			break;
		case T_CustomScan:
			foreach(lc, ((CustomScan *) plan)->custom_plans)
				used_walk((Plan *) lfirst(lc), out);
			break;
		default:
			break;
	}
	used_walk(plan->lefttree, out);
	used_walk(plan->righttree, out);
}

/* OIDs of the indexes a plan scans, including in its subplans. */
List *
whatif_used_indexes(PlannedStmt *plan)
{
	List	   *out = NIL;
	ListCell   *lc;

	used_walk(plan->planTree, &out);
	foreach(lc, plan->subplans)
		used_walk((Plan *) lfirst(lc), &out);
	return out;
}

/* text[] argument to a list of C strings; NULL elements are an error. */
List *
whatif_text_array(ArrayType *arr, const char *what)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	List	   *out = NIL;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain nulls (element %d is null)", what, i + 1),
					 errhint("Remove the null elements.")));
		out = lappend(out, TextDatumGetCString(elems[i]));
	}
	return out;
}

/*
 * architect.whatif(query text, indexes text[])
 *	 -> cost_before, cost_after, benefit_pct, indexes_used, index_sizes_bytes,
 *		plan_before, plan_after
 */
Datum
architect_whatif(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	WhatifStmt *s;
	List	   *defs;
	List	   *hypos = NIL;
	List	   *used;
	PlannedStmt *before;
	PlannedStmt *after;
	ListCell   *lc;
	Datum		values[7];
	bool		nulls[7] = {false};
	Datum	   *names;
	Datum	   *sizes;
	int			nused = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be null"),
				 errhint("Pass the text of a SELECT, INSERT, UPDATE or DELETE statement.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("indexes must not be null"),
				 errhint("Pass an array of CREATE INDEX statements, or '{}' for none.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	s = whatif_prepare(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	defs = whatif_text_array(PG_GETARG_ARRAYTYPE_P(1), "indexes");
	foreach(lc, defs)
		hypos = lappend(hypos, hypo_from_sql((const char *) lfirst(lc)));

	before = whatif_plan(s, NIL);
	after = whatif_plan(s, hypos);
	used = whatif_used_indexes(after);

	names = palloc0(sizeof(Datum) * (list_length(hypos) + 1));
	sizes = palloc0(sizeof(Datum) * (list_length(hypos) + 1));
	foreach(lc, hypos)
	{
		HypoIndex  *h = (HypoIndex *) lfirst(lc);

		if (list_member_oid(used, h->oid))
		{
			names[nused] = CStringGetTextDatum(h->name);
			sizes[nused] = Int64GetDatum((int64) h->size_bytes);
			nused++;
		}
	}

	values[0] = Float8GetDatum(before->planTree->total_cost);
	values[1] = Float8GetDatum(after->planTree->total_cost);
	values[2] = Float8GetDatum(before->planTree->total_cost > 0
							   ? 100.0 * (before->planTree->total_cost - after->planTree->total_cost)
							   / before->planTree->total_cost : 0.0);
	values[3] = PointerGetDatum(construct_array(names, nused, TEXTOID, -1, false, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_array(sizes, nused, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[5] = CStringGetTextDatum(whatif_explain(s, before, NIL));
	values[6] = CStringGetTextDatum(whatif_explain(s, after, hypos));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * architect.hypothetical_index(ddl text)
 *	 -> relation, columns, method, est_size_bytes, est_tuples, est_pages,
 *		tree_height, ddl: how the what-if engine sees one CREATE INDEX
 */
Datum
architect_hypothetical_index(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	HypoIndex  *h;
	Datum		values[8];
	bool		nulls[8] = {false};
	Datum	   *cols;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("index definition must not be null"),
				 errhint("Pass a CREATE INDEX statement.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	h = hypo_from_sql(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	cols = palloc0(sizeof(Datum) * h->ncolumns);
	for (i = 0; i < h->ncolumns; i++)
		cols[i] = CStringGetTextDatum(hypo_columns_text(h, i));

	values[0] = ObjectIdGetDatum(h->relid);
	values[1] = PointerGetDatum(construct_array(cols, h->nkeycolumns, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = CStringGetTextDatum(get_am_name(h->relam));
	values[3] = Int64GetDatum((int64) h->size_bytes);
	values[4] = Float8GetDatum(h->tuples);
	values[5] = Int64GetDatum((int64) h->pages);
	if (h->tree_height >= 0)
		values[6] = Int32GetDatum(h->tree_height);
	else
		nulls[6] = true;
	values[7] = CStringGetTextDatum(hypo_ddl(h, false));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
