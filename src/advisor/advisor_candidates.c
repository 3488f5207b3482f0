/*-------------------------------------------------------------------------
 *
 * advisor_candidates.c
 *		What a statement asks of each table it reads, as the planner sees
 *		it, and the candidate indexes that follow from it.
 *
 * Contract.  advisor_probe() plans a statement once (no hypothetical
 * index) with set_rel_pathlist_hook collecting, for every base table the
 * planner meets (subqueries included): equality columns (col = const or
 * $n, IN lists, IS NULL, bare booleans), range columns (<, <=, >, >=,
 * BETWEEN), join columns (equi-join clauses and equivalence classes), the
 * ORDER BY keys that live on that table and whether a LIMIT follows, the
 * constant equality predicates (for partial indexes) and every column the
 * query needs from the table (for covering indexes).  This works after
 * the planner's own qual distribution, so quals are seen the way the
 * planner will match them to indexes.
 *
 * advisor_candidates() turns one RelUse into CREATE INDEX texts:
 * equality columns first (most distinct first), then one range column or
 * the sort keys; join columns; single columns (seeds for the extension
 * steps); a covering variant with INCLUDE when the query needs few other
 * columns; a partial index for a rare constant on a low-cardinality
 * column; hash for a wide equality column; brin for a range column that
 * follows the physical order.  Candidates whose keys are a prefix of an
 * existing valid index, or whose keys select more than 5 % of the table
 * per probe (boolean, status-like columns), are not produced.
 *
 * The hook is chained (previous hook first) and does nothing unless a probe
 * is running in this backend.  It is installed by advisor_install_hooks
 * (from advisor_init).  Callers: advisor.c only.
 *
 * Locking: none of its own and no shared state; planning takes the locks
 * EXPLAIN takes, and the catalog is read through the syscache (statistics,
 * existing indexes of the probed tables).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/genam.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/value.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/relcache.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "advisor/advisor.h"

/* pg_class.relam and relnatts of a relation */
static Oid
rel_am(Oid relid, int *natts)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			am = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		am = ((Form_pg_class) GETSTRUCT(tup))->relam;
		if (natts)
			*natts = ((Form_pg_class) GETSTRUCT(tup))->relnatts;
		ReleaseSysCache(tup);
	}
	return am;
}

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;
static bool probe_active = false;
static List *probe_uses = NIL;

static void advisor_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel,
									 Index rti, RangeTblEntry *rte);

void
advisor_install_hooks(void)
{
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = advisor_set_rel_pathlist;
}

static Node *
strip_relabel(Node *n)
{
	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	return n;
}

/* attno if n is a user column of relid, else 0 */
static AttrNumber
var_of(Node *n, Index relid)
{
	n = strip_relabel(n);
	if (n && IsA(n, Var) && ((Var *) n)->varno == relid &&
		((Var *) n)->varattno > 0 && ((Var *) n)->varlevelsup == 0)
		return ((Var *) n)->varattno;
	return 0;
}

static bool
is_pseudo_const(Node *n)
{
	return !contain_var_clause(n) && !contain_volatile_functions(n);
}

/* btree strategy of an operator, 0 if it has none */
static int
op_strategy_any(Oid opno)
{
	List	   *interp = get_op_btree_interpretation(opno);
	int			strategy = 0;

	if (interp != NIL)
		strategy = ((OpBtreeInterpretation *) linitial(interp))->strategy;
	list_free_deep(interp);
	return strategy;
}

/* SQL text of a clause on one table, columns unqualified */
static char *
deparse_on_rel(Node *clause, Index varno, Oid relid)
{
	Node	   *copy = copyObject(clause);

	if (varno != 1)
		ChangeVarNodes(copy, varno, 1, 0);
	return deparse_expression(copy, deparse_context_for(get_rel_name(relid), relid),
							  false, false);
}

/* true if n is an immutable expression of this relation's columns only */
static bool
expr_of(PlannerInfo *root, Node *n, Index relid)
{
	Relids		varnos;

	n = strip_relabel(n);
	if (n == NULL || IsA(n, Var) || IsA(n, Const) || IsA(n, Param))
		return false;
	varnos = pull_varnos(root, n);
	return bms_membership(varnos) == BMS_SINGLETON && bms_is_member(relid, varnos) &&
		!contain_mutable_functions(n) && !contain_subplans(n);
}

static List *
append_unique_int(List *l, int v)
{
	return list_append_unique_int(l, v);
}

static void classify_clause(PlannerInfo *root, RelOptInfo *rel, Node *clause,
							RelUse *use, bool in_or);

static void
classify_restriction(PlannerInfo *root, RelOptInfo *rel, RestrictInfo *rinfo,
					 RelUse *use)
{
	classify_clause(root, rel, (Node *) rinfo->clause, use, false);
}

/*
 * A constant equality on column attno, remembered with its selectivity for
 * a partial index (a rare constant on a low-cardinality column).
 */
static void
add_const_pred(PlannerInfo *root, Node *clause, AttrNumber attno, Index relid,
			   RelUse *use)
{
	ConstPred  *cp = palloc0(sizeof(ConstPred));

	cp->attno = attno;
	cp->selectivity = clause_selectivity(root, clause, 0, JOIN_INNER, NULL);
	cp->sql = deparse_on_rel(clause, relid, use->relid);
	use->consts = lappend(use->consts, cp);
}

/*
 * expr op constant where expr is an expression of this table's columns
 * (lower(email) = $1): a candidate expression index when op is a btree
 * comparison.
 */
static void
classify_expression_op(PlannerInfo *root, Node *l, Node *r, Oid opno,
					   Index relid, RelUse *use)
{
	Node	   *expr = NULL;
	int			strategy;

	if (expr_of(root, l, relid) && is_pseudo_const(r))
		expr = l;
	else if (expr_of(root, r, relid) && is_pseudo_const(l))
	{
		expr = r;
		opno = get_commutator(opno);
	}
	if (expr && OidIsValid(opno))
	{
		strategy = op_strategy_any(opno);
		if (strategy >= BTLessStrategyNumber && strategy <= BTGreaterStrategyNumber)
			use->exprs = list_append_unique(use->exprs,
											makeString(deparse_on_rel(expr, relid, use->relid)));
	}
}

/*
 * col LIKE 'abc%' / col ~ '^abc' (an operator in no btree family): a btree
 * range on col when the pattern is anchored.
 */
static void
classify_pattern_op(Oid opno, Node *other, AttrNumber attno, RelUse *use)
{
	char	   *name = get_opname(opno);

	other = strip_relabel(other);
	if (name && (strcmp(name, "~~") == 0 || strcmp(name, "~") == 0) &&
		IsA(other, Const) && !((Const *) other)->constisnull &&
		((Const *) other)->consttype == TEXTOID)
	{
		char	   *pat = TextDatumGetCString(((Const *) other)->constvalue);

		if ((name[1] == '~' && pat[0] != '\0' && pat[0] != '%' && pat[0] != '_') ||
			(name[1] == '\0' && pat[0] == '^' && pat[1] != '\0'))
			use->range = append_unique_int(use->range, attno);
	}
}

/*
 * A binary operator clause: col op constant (either side), classified by
 * the operator's btree strategy into equality or range columns; anything
 * else is an expression or a pattern match, or not indexable.
 */
static void
classify_opexpr(PlannerInfo *root, OpExpr *op, RelUse *use, Index relid,
				bool in_or)
{
	Node	   *l = linitial(op->args);
	Node	   *r = lsecond(op->args);
	AttrNumber	attno;
	Oid			opno = op->opno;
	int			strategy;
	Node	   *other;

	if ((attno = var_of(l, relid)) != 0 && is_pseudo_const(r))
		other = r;
	else if ((attno = var_of(r, relid)) != 0 && is_pseudo_const(l))
	{
		other = l;
		opno = get_commutator(opno);
		if (!OidIsValid(opno))
			return;
	}
	else
	{
		classify_expression_op(root, l, r, opno, relid, use);
		return;
	}

	strategy = op_strategy_any(opno);
	if (strategy == 0 && other == r)
	{
		classify_pattern_op(opno, other, attno, use);
		return;
	}
	if (strategy == BTEqualStrategyNumber)
	{
		use->eq = append_unique_int(use->eq, attno);
		other = strip_relabel(other);
		if (!in_or && IsA(other, Const) && !((Const *) other)->constisnull)
			add_const_pred(root, (Node *) op, attno, relid, use);
	}
	else if (strategy >= BTLessStrategyNumber && strategy <= BTGreaterStrategyNumber)
		use->range = append_unique_int(use->range, attno);
}

/*
 * One qual of a base table, as the planner distributed it.  in_or: the
 * clause is an arm of an OR, so its constant is not a partial-index
 * predicate for the whole statement.
 */
static void
classify_clause(PlannerInfo *root, RelOptInfo *rel, Node *clause,
				RelUse *use, bool in_or)
{
	Index		relid = rel->relid;

	/* a = 1 OR a = 2 (or b = 3): each arm can use its own index (BitmapOr) */
	if (is_orclause(clause))
	{
		ListCell   *la;

		foreach(la, ((BoolExpr *) clause)->args)
			classify_clause(root, rel, (Node *) lfirst(la), use, true);
		return;
	}
	if (is_andclause(clause))
	{
		ListCell   *la;

		foreach(la, ((BoolExpr *) clause)->args)
			classify_clause(root, rel, (Node *) lfirst(la), use, in_or);
		return;
	}

	if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
		classify_opexpr(root, (OpExpr *) clause, use, relid, in_or);
	else if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;
		AttrNumber	attno = var_of(linitial(sa->args), relid);

		if (attno && sa->useOr && is_pseudo_const(lsecond(sa->args)) &&
			op_strategy_any(sa->opno) == BTEqualStrategyNumber)
			use->eq = append_unique_int(use->eq, attno);
	}
	else if (IsA(clause, NullTest))
	{
		NullTest   *nt = (NullTest *) clause;
		AttrNumber	attno = var_of((Node *) nt->arg, relid);

		if (attno && nt->nulltesttype == IS_NULL && !nt->argisrow)
			use->eq = append_unique_int(use->eq, attno);
	}
	else if (var_of(clause, relid) ||
			 (is_notclause(clause) && var_of((Node *) get_notclausearg((Expr *) clause), relid)))
	{
		/* a bare boolean column, or NOT column */
		AttrNumber	attno = var_of(clause, relid);

		if (attno == 0)
			attno = var_of((Node *) get_notclausearg((Expr *) clause), relid);
		use->eq = append_unique_int(use->eq, attno);
		if (!in_or)
			add_const_pred(root, clause, attno, relid, use);
	}
}

static void
advisor_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
						 RangeTblEntry *rte)
{
	RelUse	   *use;
	ListCell   *lc;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);

	if (!probe_active || rte->rtekind != RTE_RELATION ||
		rel->reloptkind != RELOPT_BASEREL ||
		(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_MATVIEW))
		return;
	/* system catalogs and information_schema are not ours to index */
	if (IsCatalogRelationOid(rte->relid) ||
		IsToastNamespace(get_rel_namespace(rte->relid)) ||
		strcmp(get_namespace_name(get_rel_namespace(rte->relid)), "information_schema") == 0)
		return;

	use = palloc0(sizeof(RelUse));
	use->relid = rte->relid;
	use->tuples = rel->tuples;
	use->natts = rel->max_attr;

	foreach(lc, rel->baserestrictinfo)
		classify_restriction(root, rel, (RestrictInfo *) lfirst(lc), use);

	/* explicit join clauses */
	foreach(lc, rel->joininfo)
	{
		RestrictInfo *rinfo = (RestrictInfo *) lfirst(lc);
		Node	   *clause = (Node *) rinfo->clause;

		if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2 &&
			op_strategy_any(((OpExpr *) clause)->opno) == BTEqualStrategyNumber)
		{
			AttrNumber	a = var_of(linitial(((OpExpr *) clause)->args), rel->relid);

			if (a == 0)
				a = var_of(lsecond(((OpExpr *) clause)->args), rel->relid);
			if (a)
				use->join = append_unique_int(use->join, a);
		}
	}

	/* equi-joins the planner folded into equivalence classes */
	if (rel->has_eclass_joins)
	{
		foreach(lc, root->eq_classes)
		{
			EquivalenceClass *ec = (EquivalenceClass *) lfirst(lc);
			ListCell   *lm;
			AttrNumber	mine = 0;
			bool		other = false;

			if (ec->ec_has_const || list_length(ec->ec_members) < 2)
				continue;
			foreach(lm, ec->ec_members)
			{
				EquivalenceMember *em = (EquivalenceMember *) lfirst(lm);
				AttrNumber	a = var_of((Node *) em->em_expr, rel->relid);

				if (a)
					mine = a;
				else if (!bms_is_member(rel->relid, em->em_relids) &&
						 !bms_is_empty(em->em_relids))
					other = true;
			}
			if (mine && other)
				use->join = append_unique_int(use->join, mine);
		}
	}

	/* ORDER BY keys on this table */
	if (root->parse->sortClause && root->sort_pathkeys)
	{
		bool		all = true;
		List	   *keys = NIL;
		List	   *desc = NIL;

		foreach(lc, root->sort_pathkeys)
		{
			PathKey    *pk = (PathKey *) lfirst(lc);
			ListCell   *lm;
			AttrNumber	found = 0;

			foreach(lm, pk->pk_eclass->ec_members)
			{
				EquivalenceMember *em = (EquivalenceMember *) lfirst(lm);

				if ((found = var_of((Node *) em->em_expr, rel->relid)) != 0)
					break;
			}
			if (!found)
			{
				all = false;
				break;
			}
			keys = lappend_int(keys, found);
			desc = lappend_int(desc, (pk->pk_strategy == BTGreaterStrategyNumber ? ADVISOR_DESC : 0) |
							   (pk->pk_nulls_first ? ADVISOR_NULLS_FIRST : 0));
		}
		if (all)
		{
			use->sort = keys;
			use->sort_desc = desc;
			use->has_limit = (root->parse->limitCount != NULL);
		}
	}

	/* every column the query needs from the table */
	pull_varattnos((Node *) rel->reltarget->exprs, rel->relid, &use->needed);
	foreach(lc, rel->baserestrictinfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause,
					   rel->relid, &use->needed);

	probe_uses = lappend(probe_uses, use);
}

/*
 * Plan the statement once without hypothetical indexes; return its plan and
 * set *uses to what each table was asked.
 */
PlannedStmt *
advisor_probe(WhatifStmt *s, List **uses)
{
	PlannedStmt *volatile plan = NULL;

	probe_uses = NIL;
	probe_active = true;
	PG_TRY();
	{
		plan = whatif_plan(s, NIL);
	}
	PG_FINALLY();
	{
		probe_active = false;
	}
	PG_END_TRY();
	*uses = probe_uses;
	probe_uses = NIL;
	return plan;
}

/* Distinct values of a column, from pg_statistic; 200 when unknown. */
double
advisor_ndistinct(Oid relid, AttrNumber attno, double tuples)
{
	HeapTuple	tup;
	double		nd = 200.0;

	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid),
						  Int16GetDatum(attno), BoolGetDatum(false));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_statistic st = (Form_pg_statistic) GETSTRUCT(tup);

		if (st->stadistinct > 0)
			nd = st->stadistinct;
		else if (st->stadistinct < 0)
			nd = -st->stadistinct * Max(tuples, 1.0);
		ReleaseSysCache(tup);
	}
	else if (get_atttype(relid, attno) == BOOLOID)
		nd = 2;
	return Max(nd, 1.0);
}

/* |correlation| of a column with the physical order, 0 when unknown */
static double
column_correlation(Oid relid, AttrNumber attno)
{
	HeapTuple	tup;
	double		corr = 0;

	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid),
						  Int16GetDatum(attno), BoolGetDatum(false));
	if (HeapTupleIsValid(tup))
	{
		AttStatsSlot sslot;

		if (get_attstatsslot(&sslot, tup, STATISTIC_KIND_CORRELATION, InvalidOid,
							 ATTSTATSSLOT_NUMBERS))
		{
			if (sslot.nnumbers > 0)
				corr = fabs(sslot.numbers[0]);
			free_attstatsslot(&sslot);
		}
		ReleaseSysCache(tup);
	}
	return corr;
}

/* Key columns (attnos) of the valid, non-partial, plain indexes of relid. */
List *
advisor_existing_keys(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	List	   *ids = RelationGetIndexList(rel);
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, ids)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index idx;
		List	   *keys = NIL;
		int			i;
		bool		plain = true;

		if (!HeapTupleIsValid(tup))
			continue;
		idx = (Form_pg_index) GETSTRUCT(tup);
		if (idx->indisvalid && heap_attisnull(tup, Anum_pg_index_indpred, NULL) &&
			rel_am(idx->indexrelid, NULL) == BTREE_AM_OID)
		{
			for (i = 0; i < idx->indnkeyatts; i++)
			{
				if (idx->indkey.values[i] == 0)
					plain = false;
				keys = lappend_int(keys, idx->indkey.values[i]);
			}
			if (plain && keys)
				out = lappend(out, keys);
		}
		ReleaseSysCache(tup);
	}
	table_close(rel, AccessShareLock);
	return out;
}

/* true if a valid index of relid has this expression as its first key */
bool
advisor_expr_index_exists(Oid relid, const char *expr)
{
	Relation	rel = table_open(relid, AccessShareLock);
	List	   *ids = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, ids)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		List	   *exprs = RelationGetIndexExpressions(idx);

		if (idx->rd_index->indisvalid && idx->rd_index->indkey.values[0] == 0 && exprs != NIL &&
			strcmp(deparse_expression(linitial(exprs),
									  deparse_context_for(get_rel_name(relid), relid),
									  false, false), expr) == 0)
			found = true;
		index_close(idx, AccessShareLock);
		if (found)
			break;
	}
	table_close(rel, AccessShareLock);
	return found;
}

/* true if keys is a prefix of (or equal to) one of the existing key lists */
bool
advisor_prefix_of_existing(List *keys, List *existing)
{
	ListCell   *lc;

	foreach(lc, existing)
	{
		List	   *ex = (List *) lfirst(lc);
		int			i;
		bool		prefix = true;

		if (list_length(keys) > list_length(ex))
			continue;
		for (i = 0; i < list_length(keys); i++)
			if (list_nth_int(keys, i) != list_nth_int(ex, i))
			{
				prefix = false;
				break;
			}
		if (prefix)
			return true;
	}
	return false;
}

static char *
col(Oid relid, AttrNumber attno)
{
	return (char *) quote_identifier(get_attname(relid, attno, false));
}

/* Fraction of the table one probe of the key columns returns. */
static double
key_selectivity(Oid relid, List *keys, double tuples)
{
	double		sel = 1.0;
	ListCell   *lc;

	foreach(lc, keys)
		sel /= advisor_ndistinct(relid, lfirst_int(lc), tuples);
	return sel;
}

static void
emit(List **out, RelUse *use, List *keys, List *desc, List *include,
	 const char *method, const char *pred, const char *origin,
	 List *existing, bool check_selectivity)
{
	CandSpec   *c;

	if (keys == NIL)
		return;
	if (list_length(keys) + list_length(include) > INDEX_MAX_KEYS)
		return;
	/* an existing btree whose keys start with these serves them already */
	if (advisor_prefix_of_existing(keys, existing))
		return;
	if (check_selectivity &&
		key_selectivity(use->relid, keys, use->tuples) > ADVISOR_MAX_PROBE_FRACTION)
		return;

	c = palloc0(sizeof(CandSpec));
	c->relid = use->relid;
	c->sql = advisor_index_sql(use->relid, method, keys, desc, include, pred);
	c->origin = origin;
	*out = lappend(*out, c);
}

/* CREATE INDEX ON t USING m (keys [DESC]) [INCLUDE (...)] [WHERE pred] */
char *
advisor_index_sql(Oid relid, const char *method, List *keys, List *desc,
				  List *include, const char *pred)
{
	StringInfoData buf;
	ListCell   *lc;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE INDEX ON %s USING %s (",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)),
					 method);
	i = 0;
	foreach(lc, keys)
	{
		int			flags = desc ? list_nth_int(desc, i) : 0;
		bool		d = (flags & ADVISOR_DESC) != 0;
		bool		nf = (flags & ADVISOR_NULLS_FIRST) != 0;

		appendStringInfo(&buf, "%s%s%s%s", i ? ", " : "", col(relid, lfirst_int(lc)),
						 d ? " DESC" : "",
						 nf == d ? "" : (nf ? " NULLS FIRST" : " NULLS LAST"));
		i++;
	}
	appendStringInfoChar(&buf, ')');
	if (include)
	{
		appendStringInfoString(&buf, " INCLUDE (");
		i = 0;
		foreach(lc, include)
			appendStringInfo(&buf, "%s%s", i++ ? ", " : "", col(relid, lfirst_int(lc)));
		appendStringInfoChar(&buf, ')');
	}
	if (pred)
		appendStringInfo(&buf, " WHERE %s", pred);
	return buf.data;
}

static List *
concat_unique(List *a, List *b)
{
	List	   *out = list_copy(a);
	ListCell   *lc;

	foreach(lc, b)
		out = list_append_unique_int(out, lfirst_int(lc));
	return out;
}

/* n_distinct per attno, filled by advisor_candidates for the comparator */
static double *advisor_sort_nd = NULL;

static int
cmp_ndistinct_desc(const ListCell *a, const ListCell *b)
{
	double		x = advisor_sort_nd[lfirst_int(a)];
	double		y = advisor_sort_nd[lfirst_int(b)];

	if (x > y)
		return -1;
	if (x < y)
		return 1;
	return lfirst_int(a) - lfirst_int(b);
}

/* covering variant: keys + INCLUDE the other needed columns, if few */
static void
emit_covering(List **out, RelUse *use, List *keys, List *desc, List *existing)
{
	List	   *inc = NIL;
	int			x = -1;

	if (use->needed == NULL)
		return;
	while ((x = bms_next_member(use->needed, x)) >= 0)
	{
		AttrNumber	a = x + FirstLowInvalidHeapAttributeNumber;

		if (a <= 0)
			return;				/* whole row or system column: no index-only scan */
		if (!list_member_int(keys, a))
			inc = lappend_int(inc, a);
	}
	/* a copy of the whole row is not an index */
	if (inc == NIL || list_length(inc) > ADVISOR_MAX_INCLUDE ||
		bms_num_members(use->needed) >= use->natts)
		return;
	emit(out, use, keys, desc, inc, "btree", NULL,
		 "covering: INCLUDE lets an index-only scan answer the statement", existing, true);
}

/*
 * The equality columns, most distinct values first (ties by attribute
 * number), so that an index leads with its most selective column.
 */
static List *
eq_by_ndistinct(RelUse *use)
{
	List	   *eq;
	ListCell   *lc;
	int			natts = 0;
	int			i;

	(void) rel_am(use->relid, &natts);
	advisor_sort_nd = palloc0(sizeof(double) * (natts + 1));
	for (i = 1; i <= natts; i++)
		advisor_sort_nd[i] = -1;
	foreach(lc, use->eq)
		advisor_sort_nd[lfirst_int(lc)] = advisor_ndistinct(use->relid, lfirst_int(lc), use->tuples);

	eq = list_copy(use->eq);
	list_sort(eq, cmp_ndistinct_desc);
	return eq;
}

/*
 * Step 3: the equality columns, then the ORDER BY keys, so that the scan
 * returns rows in order (no sort; with a LIMIT it stops early).
 */
static void
emit_sort_candidates(List **out, RelUse *use, List *eq, List *existing)
{
	List	   *k = list_copy(eq);
	List	   *d = NIL;
	bool		flip = false;
	bool		first = true;
	ListCell   *lc;
	ListCell   *ld;

	foreach(ld, eq)
		d = lappend_int(d, 0);
	forboth(lc, use->sort, ld, use->sort_desc)
	{
		if (list_member_int(k, lfirst_int(lc)))
			continue;
		/* the first sort key ascending; the others keep their relative order */
		if (first)
			flip = (lfirst_int(ld) & ADVISOR_DESC) != 0;
		first = false;
		k = lappend_int(k, lfirst_int(lc));
		d = lappend_int(d, flip ? (lfirst_int(ld) ^ (ADVISOR_DESC | ADVISOR_NULLS_FIRST)) : lfirst_int(ld));
	}
	if (list_length(k) > list_length(eq))
	{
		const char *why = use->has_limit
			? (eq ? "equality columns, then the ORDER BY keys: the LIMIT stops early"
			   : "ORDER BY keys: the LIMIT stops early")
			: "equality columns, then the ORDER BY keys: no sort";

		/* an ordered scan returns few rows per probe only with a LIMIT */
		emit(out, use, k, d, NIL, "btree", NULL, why, existing, !use->has_limit);
		if (use->has_limit)
			emit_covering(out, use, k, d, existing);
	}
}

/*
 * Step 6: a rare constant on a low-cardinality column (status = 'failed'
 * on 1 % of the rows): a partial index WHERE that predicate, keyed on the
 * statement's other columns.
 */
static void
emit_partial_candidates(List **out, RelUse *use, List *eq, List *range,
						List *existing)
{
	ListCell   *lc;

	foreach(lc, use->consts)
	{
		ConstPred  *cp = (ConstPred *) lfirst(lc);
		List	   *others = NIL;
		ListCell   *lo;

		if (key_selectivity(use->relid, list_make1_int(cp->attno), use->tuples)
			<= ADVISOR_MAX_PROBE_FRACTION || cp->selectivity > ADVISOR_MAX_PROBE_FRACTION)
			continue;
		foreach(lo, eq)
			if (lfirst_int(lo) != cp->attno)
				others = lappend_int(others, lfirst_int(lo));
		if (use->sort && use->has_limit)
			others = concat_unique(others, use->sort);
		else if (range)
			others = lappend_int(others, linitial_int(range));
		if (others == NIL)
			others = list_make1_int(cp->attno);
		emit(out, use, others, NIL, NIL, "btree", cp->sql,
			 "partial: the constant predicate selects a small part of a low-cardinality column",
			 existing, false);
	}
}

/*
 * Step 7: expressions compared to constants (lower(email) = $1): an
 * expression index, unless one on the same expression exists.
 */
static void
emit_expression_candidates(List **out, RelUse *use)
{
	ListCell   *lc;

	foreach(lc, use->exprs)
	{
		const char *expr = strVal(lfirst(lc));
		CandSpec   *c;

		if (advisor_expr_index_exists(use->relid, expr))
			continue;
		c = palloc0(sizeof(CandSpec));
		c->relid = use->relid;
		c->sql = psprintf("CREATE INDEX ON %s USING btree ((%s))",
						  quote_qualified_identifier(get_namespace_name(get_rel_namespace(use->relid)),
													 get_rel_name(use->relid)),
						  expr);
		c->origin = "expression index: the statement compares an expression of the table's columns";
		*out = lappend(*out, c);
	}
}

/*
 * Steps 8 and 9, other access methods: hash for a wide column compared only
 * by equality (smaller than a btree); brin for a range column that follows
 * the physical order of a large table.
 */
static void
emit_other_am_candidates(List **out, RelUse *use, List *eq, List *range,
						 List *existing)
{
	ListCell   *lc;

	foreach(lc, eq)
	{
		AttrNumber	a = lfirst_int(lc);

		if (get_attavgwidth(use->relid, a) > ADVISOR_HASH_MIN_WIDTH &&
			list_length(use->eq) == 1 && use->range == NIL && use->sort == NIL)
			emit(out, use, list_make1_int(a), NIL, NIL, "hash", NULL,
				 "hash: equality only on a wide column, smaller than a btree", existing, true);
	}
	foreach(lc, range)
	{
		AttrNumber	a = lfirst_int(lc);

		if (use->tuples >= ADVISOR_BRIN_MIN_TUPLES &&
			column_correlation(use->relid, a) >= 0.95)
			emit(out, use, list_make1_int(a), NIL, NIL, "brin", NULL,
				 "brin: the range column follows the physical order", existing, true);
	}
}

/*
 * Candidate CREATE INDEX texts for one table use; see the header comment.
 * The order of the steps is the order of the candidates, which the greedy
 * selection sees; keep it when adding a step.
 */
List *
advisor_candidates(RelUse *use, List *existing)
{
	List	   *out = NIL;
	List	   *eq;
	List	   *range = NIL;
	ListCell   *lc;

	eq = eq_by_ndistinct(use);
	foreach(lc, use->range)
		if (!list_member_int(eq, lfirst_int(lc)))
			range = lappend_int(range, lfirst_int(lc));

	/* 1. equality columns, most selective first */
	if (eq)
	{
		emit(&out, use, eq, NIL, NIL, "btree", NULL,
			 "equality columns, most selective first", existing, true);
		emit_covering(&out, use, eq, NIL, existing);
	}
	/* 2. equality columns, then one range column */
	foreach(lc, range)
	{
		List	   *k = lappend_int(list_copy(eq), lfirst_int(lc));

		emit(&out, use, k, NIL, NIL, "btree", NULL,
			 eq ? "equality columns first, then the range column" : "range column",
			 existing, true);
		emit_covering(&out, use, k, NIL, existing);
	}
	/* 3. equality columns, then the sort keys (ORDER BY ... LIMIT) */
	if (use->sort)
		emit_sort_candidates(&out, use, eq, existing);
	/* 4. join columns, alone and after the equality columns */
	foreach(lc, use->join)
	{
		List	   *k;

		if (list_member_int(eq, lfirst_int(lc)))
			continue;
		emit(&out, use, list_make1_int(lfirst_int(lc)), NIL, NIL, "btree", NULL,
			 "join column: a nested loop can probe it", existing, true);
		if (eq)
		{
			k = lappend_int(list_copy(eq), lfirst_int(lc));
			emit(&out, use, k, NIL, NIL, "btree", NULL,
				 "equality columns, then the join column", existing, true);
		}
	}
	/* 5. single columns: seeds for the extension steps */
	foreach(lc, concat_unique(eq, range))
		emit(&out, use, list_make1_int(lfirst_int(lc)), NIL, NIL, "btree", NULL,
			 "single column", existing, true);
	/* 6. rare constant on a low-cardinality column: partial index */
	emit_partial_candidates(&out, use, eq, range, existing);
	/* 7. expressions compared to constants: an expression index */
	emit_expression_candidates(&out, use);
	/* 8 and 9. hash for a wide equality column, brin for a correlated range */
	emit_other_am_candidates(&out, use, eq, range, existing);
	return out;
}
