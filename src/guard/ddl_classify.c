/*-------------------------------------------------------------------------
 *
 * ddl_classify.c
 *		Classify a raw (parsed, not yet executed) utility statement: for
 *		each relation it touches, the lock PostgreSQL will take, whether the
 *		table is rewritten or fully scanned while that lock is held, what it
 *		blocks, how large the table is, the resulting risk and a safer way.
 *
 * Contract: ddl_classify() never executes or modifies anything.  Lock
 * levels for ALTER TABLE come from PostgreSQL itself
 * (AlterTableGetLockLevel); rewrite and scan decisions follow what
 * tablecmds.c does in PostgreSQL 15 (fast defaults for non-volatile ADD
 * COLUMN defaults, ATColumnChangeRequiresRewrite for ALTER TYPE, NOT NULL
 * proven by a valid CHECK constraint, NOT VALID constraints).
 *
 * Locking: to read a table's size and relcache entry we take AccessShareLock
 * with ConditionalLockRelationOid (never waiting, so the guard cannot queue
 * behind or ahead of anybody) and release it as soon as the statement is
 * classified.  If the lock is not free, the size comes from
 * pg_class.relpages and the relcache-only checks are skipped (the answer is
 * then the conservative one).  Everything else is read from the syscache.
 *
 * Called by ddl_guard.c (the ProcessUtility hook and check_ddl()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "commands/tablespace.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_node.h"
#include "parser/parse_type.h"
#include "parser/parse_utilcmd.h"
#include "partitioning/partbounds.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "guard/ddl_classify.h"

/* A CHECK (col IS NOT NULL) constraint added earlier in a check_ddl text. */
typedef struct DdlTextCheck
{
	Oid			relid;
	char	   *conname;
	char	   *colname;
	bool		valid;
} DdlTextCheck;

typedef struct ClassifyCtx
{
	DdlTextState *state;
	List	   *findings;
	List	   *open_rels;		/* Relation, AccessShareLock to release */
} ClassifyCtx;

static const char *const risk_names[] = {"none", "low", "medium", "high"};

const char *
ddl_risk_name(DdlRisk risk)
{
	return risk_names[risk];
}

const char *
ddl_lock_name(LOCKMODE mode)
{
	if (mode == NoLock)
		return NULL;
	return GetLockmodeName(DEFAULT_LOCKMETHOD, mode);
}

static void
note(DdlFinding *f, const char *text)
{
	if (f->reason.len > 0)
		appendStringInfoString(&f->reason, "; ");
	appendStringInfoString(&f->reason, text);
}

static void
suggest(DdlFinding *f, const char *text)
{
	if (f->safer.len > 0)
		appendStringInfoString(&f->safer, " ");
	appendStringInfoString(&f->safer, text);
}

static DdlFinding *
new_finding(ClassifyCtx *cx)
{
	DdlFinding *f = palloc0(sizeof(DdlFinding));

	f->bytes = -1;
	f->lockmode = NoLock;
	initStringInfo(&f->reason);
	initStringInfo(&f->safer);
	cx->findings = lappend(cx->findings, f);
	return f;
}

static bool
exempt_small(DdlFinding *f)
{
	return f->bytes >= 0 && f->bytes < (int64) ddl_guard_min_size_kb * 1024;
}

/* New or small: whatever the statement does to it is over quickly. */
static bool
exempt(DdlFinding *f)
{
	return f->is_new || f->is_temp || exempt_small(f);
}

static bool
created_in_text(DdlTextState *state, RangeVar *rv)
{
	ListCell   *lc;

	if (state == NULL)
		return false;
	foreach(lc, state->created)
	{
		RangeVar   *c = lfirst(lc);

		if (strcmp(c->relname, rv->relname) == 0 &&
			(rv->schemaname == NULL || c->schemaname == NULL ||
			 strcmp(c->schemaname, rv->schemaname) == 0))
			return true;
	}
	return false;
}

/*
 * Bytes on disk of one relation with storage: its real length when the
 * AccessShareLock is free right now, pg_class.relpages otherwise (we never
 * wait).  The lock, when taken, is kept until the end of the (sub)transaction
 * like the target's own.
 */
static int64
storage_bytes(Oid relid)
{
	int64		bytes = 0;

	if (ConditionalLockRelationOid(relid, AccessShareLock))
	{
		Relation	r = try_relation_open(relid, NoLock);

		if (r != NULL)
		{
			if (RELKIND_HAS_STORAGE(r->rd_rel->relkind))
				bytes = (int64) RelationGetNumberOfBlocks(r) * BLCKSZ;
			relation_close(r, NoLock);
		}
	}
	else
	{
		HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

		if (HeapTupleIsValid(tp))
		{
			Form_pg_class cls = (Form_pg_class) GETSTRUCT(tp);

			if (RELKIND_HAS_STORAGE(cls->relkind) && cls->relpages > 0)
				bytes = (int64) cls->relpages * BLCKSZ;
			ReleaseSysCache(tp);
		}
	}
	return bytes;
}

/*
 * Size of a relation that has no storage of its own.  A partitioned table
 * or index is as big as its partitions together (a statement on it works on
 * all of them).  A view, a composite type or a foreign table keeps no local
 * data that a statement could rewrite or scan: zero.  Without this, such
 * relations had an unknown size and were never exempt as small.
 */
static int64
storageless_bytes(Oid relid, char relkind)
{
	List	   *children;
	ListCell   *lc;
	int64		total = 0;

	if (relkind != RELKIND_PARTITIONED_TABLE && relkind != RELKIND_PARTITIONED_INDEX)
		return 0;
	/* NoLock: only pg_inherits is read; each child is sized as above */
	children = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, children)
	{
		Oid			child = lfirst_oid(lc);

		if (child != relid)
			total += storage_bytes(child);
	}
	list_free(children);
	return total;
}

/*
 * Bytes of the tables a statement without a named table works on: those of
 * one schema (REINDEX SCHEMA), or those with a clustered index (CLUSTER
 * without a table).  A catalog scan, as core does to find them; each table
 * is sized as above, without waiting for a lock.  A schema that does not
 * exist has nothing to size: core raises its own error right after.
 */
static int64
scope_bytes(Oid nspid, bool clustered_only)
{
	Relation	catalog;
	TableScanDesc scan;
	HeapTuple	tup;
	int64		total = 0;

	catalog = table_open(clustered_only ? IndexRelationId : RelationRelationId, AccessShareLock);
	scan = table_beginscan_catalog(catalog, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		if (clustered_only)
		{
			Form_pg_index idx = (Form_pg_index) GETSTRUCT(tup);

			if (idx->indisclustered)
				total += storage_bytes(idx->indrelid);
		}
		else
		{
			Form_pg_class cls = (Form_pg_class) GETSTRUCT(tup);

			if (cls->relnamespace == nspid &&
				(cls->relkind == RELKIND_RELATION || cls->relkind == RELKIND_MATVIEW))
				total += storage_bytes(cls->oid);
		}
	}
	table_endscan(scan);
	table_close(catalog, AccessShareLock);
	return total;
}

/*
 * Fill a finding for an existing relation: name, size, created in this
 * transaction.  See the header comment for the locking.
 */
static void
target_oid(ClassifyCtx *cx, DdlFinding *f, Oid relid)
{
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));
	char	   *rel = get_rel_name(relid);

	if (rel == NULL)
	{
		f->missing = true;
		return;
	}
	f->relid = relid;
	f->relation = quote_qualified_identifier(nsp, rel);
	f->is_temp = (get_rel_persistence(relid) == RELPERSISTENCE_TEMP);

	if (ConditionalLockRelationOid(relid, AccessShareLock))
	{
		Relation	r = try_relation_open(relid, NoLock);

		if (r == NULL)
		{
			UnlockRelationOid(relid, AccessShareLock);
			f->missing = true;
			f->relid = InvalidOid;
			return;
		}
		cx->open_rels = lappend(cx->open_rels, r);
		f->is_new = (r->rd_createSubid != InvalidSubTransactionId);
		if (RELKIND_HAS_STORAGE(r->rd_rel->relkind))
			f->bytes = (int64) RelationGetNumberOfBlocks(r) * BLCKSZ;
		else
			f->bytes = storageless_bytes(relid, r->rd_rel->relkind);
	}
	else
	{
		HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

		if (HeapTupleIsValid(tp))
		{
			Form_pg_class cls = (Form_pg_class) GETSTRUCT(tp);

			if (RELKIND_HAS_STORAGE(cls->relkind) && cls->relpages > 0)
				f->bytes = (int64) cls->relpages * BLCKSZ;
			else if (!RELKIND_HAS_STORAGE(cls->relkind))
				f->bytes = storageless_bytes(relid, cls->relkind);
			ReleaseSysCache(tp);
		}
		note(f, "another session holds or waits for a conflicting lock on this table: size taken from pg_class.relpages");
	}
}

static DdlFinding *
target_rv(ClassifyCtx *cx, RangeVar *rv)
{
	DdlFinding *f = new_finding(cx);
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);

	if (OidIsValid(relid))
		target_oid(cx, f, relid);
	else
		f->missing = true;

	if (f->missing)
	{
		f->relation = quote_qualified_identifier(rv->schemaname, rv->relname);
		if (created_in_text(cx->state, rv))
		{
			f->missing = false;
			f->is_new = true;
			note(f, "created earlier in this text: new and empty when the migration runs in one transaction");
		}
	}
	return f;
}

static Relation
open_rel_of(ClassifyCtx *cx, Oid relid)
{
	ListCell   *lc;

	foreach(lc, cx->open_rels)
	{
		Relation	r = lfirst(lc);

		if (RelationGetRelid(r) == relid)
			return r;
	}
	return NULL;
}

/* ---------- expressions ---------- */

/* Is any function of this name volatile (or unknown)? */
static bool
funcname_volatile(List *funcname)
{
	FuncCandidateList c;

#if PG_VERSION_NUM >= 140000
	c = FuncnameGetCandidates(funcname, -1, NIL, false, false, false, true);
#else
	c = FuncnameGetCandidates(funcname, -1, NIL, false, false, true);
#endif
	if (c == NULL)
		return true;			/* not there yet: assume the worst */
	for (; c != NULL; c = c->next)
		if (func_volatile(c->oid) == PROVOLATILE_VOLATILE)
			return true;
	return false;
}

static bool
raw_volatile_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall) && funcname_volatile(((FuncCall *) node)->funcname))
		return true;
	if (IsA(node, SubLink))
		return true;
	return raw_expression_tree_walker(node, raw_volatile_walker, context);
}

static bool
raw_call_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall) || IsA(node, SubLink))
		return true;
	return raw_expression_tree_walker(node, raw_call_walker, context);
}

/* Does a raw expression (list) call any function? */
static bool
raw_calls_function(Node *expr)
{
	return raw_call_walker(expr, NULL);
}

static bool
raw_expr_volatile(Node *expr)
{
	return raw_volatile_walker(expr, NULL);
}

/*
 * After ALTER TYPE's coercion has been planned, does it still compute
 * anything?  The same walk as ATColumnChangeRequiresRewrite in tablecmds.c.
 */
static bool
coercion_requires_rewrite(Node *expr, AttrNumber attnum)
{
	for (;;)
	{
		if (IsA(expr, Var) && ((Var *) expr)->varattno == attnum)
			return false;
		else if (IsA(expr, RelabelType))
			expr = (Node *) ((RelabelType *) expr)->arg;
		else if (IsA(expr, CoerceToDomain))
		{
			CoerceToDomain *d = (CoerceToDomain *) expr;

			if (DomainHasConstraints(d->resulttype))
				return true;
			expr = (Node *) d->arg;
		}
		else if (IsA(expr, FuncExpr))
		{
			FuncExpr   *fe = (FuncExpr *) expr;

			if ((fe->funcid == F_TIMESTAMPTZ_TIMESTAMP ||
				 fe->funcid == F_TIMESTAMP_TIMESTAMPTZ) &&
				!TimestampTimestampTzRequiresRewrite())
				expr = linitial(fe->args);
			else
				return true;
		}
		else
			return true;
	}
}

/*
 * A dry run runs no code: no constant folding (eval_const_expressions would
 * call the IMMUTABLE functions of a CHECK constraint, under the identity of
 * whoever classifies), no evaluation.  Where PostgreSQL's own test folds or
 * evaluates, we decide on the structure alone, and only over built-in
 * functions and operators (predicate proofs compare constants with btree
 * operators): a constraint that needs anything else is not used, and the
 * answer is the conservative one (a scan).
 */
static bool
builtin_func_checker(Oid func_id, void *context)
{
	return func_id >= FirstNormalObjectId;
}

static bool
non_builtin_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, builtin_func_checker, NULL))
		return true;
	if ((IsA(node, OpExpr) || IsA(node, DistinctExpr) || IsA(node, NullIfExpr)) &&
		((OpExpr *) node)->opno >= FirstNormalObjectId)
		return true;
	if (IsA(node, ScalarArrayOpExpr) &&
		((ScalarArrayOpExpr *) node)->opno >= FirstNormalObjectId)
		return true;
	if (IsA(node, RowCompareExpr) || IsA(node, SubLink) || IsA(node, CoerceToDomain))
		return true;
	if (IsA(node, Const) && ((Const *) node)->consttype >= FirstNormalObjectId)
		return true;
	return expression_tree_walker(node, non_builtin_walker, context);
}

static bool
uses_only_builtin_code(Node *expr)
{
	return !non_builtin_walker(expr, NULL);
}

/*
 * The valid CHECK constraints of rel, as implicit-AND clauses, structurally
 * (not folded), leaving out any that names non-built-in code.
 */
static List *
structural_checks(Relation rel)
{
	TupleConstr *constr = rel->rd_att->constr;
	List	   *existing = NIL;
	int			i;

	if (constr == NULL)
		return NIL;
	for (i = 0; i < constr->num_check; i++)
	{
		Node	   *cexpr;

		CHECK_FOR_INTERRUPTS();
		if (!constr->check[i].ccvalid)
			continue;
		cexpr = stringToNode(constr->check[i].ccbin);
		if (!uses_only_builtin_code(cexpr))
			continue;
		cexpr = (Node *) canonicalize_qual((Expr *) cexpr, true);
		existing = list_concat(existing, make_ands_implicit((Expr *) cexpr));
	}
	return existing;
}

/*
 * Do the table's valid CHECK constraints prove attnum IS NOT NULL?  An IS
 * NOT NULL predicate is proven without evaluating anything (strictness of
 * the constraint's operators, see predicate_implied_by).
 */
static bool
notnull_proven_by_checks(Relation rel, Form_pg_attribute att)
{
	List	   *existing = structural_checks(rel);
	NullTest   *nt;

	if (existing == NIL)
		return false;
	nt = makeNode(NullTest);
	nt->arg = (Expr *) makeVar(1, att->attnum, att->atttypid, att->atttypmod,
							   att->attcollation, 0);
	nt->nulltesttype = IS_NOT_NULL;
	nt->argisrow = false;
	nt->location = -1;
	return predicate_implied_by(list_make1(nt), existing, false);
}

/* If c is CHECK (<column> IS NOT NULL), the column's name. */
static char *
check_is_not_null_column(Constraint *c)
{
	NullTest   *nt;
	ColumnRef  *cr;

	if (c->contype != CONSTR_CHECK || c->raw_expr == NULL ||
		!IsA(c->raw_expr, NullTest))
		return NULL;
	nt = (NullTest *) c->raw_expr;
	if (nt->nulltesttype != IS_NOT_NULL || nt->arg == NULL || !IsA(nt->arg, ColumnRef))
		return NULL;
	cr = (ColumnRef *) nt->arg;
	if (list_length(cr->fields) != 1 || !IsA(linitial(cr->fields), String))
		return NULL;
	return strVal(linitial(cr->fields));
}

static bool
text_check_proves(DdlTextState *state, Oid relid, const char *colname)
{
	ListCell   *lc;

	if (state == NULL || !OidIsValid(relid))
		return false;
	foreach(lc, state->checks)
	{
		DdlTextCheck *chk = lfirst(lc);

		if (chk->relid == relid && chk->valid && strcmp(chk->colname, colname) == 0)
			return true;
	}
	return false;
}

/* ---------- ALTER TABLE subcommands ---------- */

static Oid
rel_access_method(Oid relid)
{
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			am = InvalidOid;

	if (HeapTupleIsValid(tp))
	{
		am = ((Form_pg_class) GETSTRUCT(tp))->relam;
		ReleaseSysCache(tp);
	}
	return am;
}

static void classify_fk(ClassifyCtx *cx, DdlFinding *f, Constraint *c);
static bool bound_implied(ClassifyCtx *cx, DdlFinding *parent, DdlFinding *part,
						  PartitionBoundSpec *bound);
static bool partition_columns_match(Relation prel, Relation arel);
static bool attach_will_fail(ClassifyCtx *cx, DdlFinding *parent, DdlFinding *part);

static bool
is_serial_type(TypeName *tn)
{
	char	   *name;

	if (tn == NULL || list_length(tn->names) != 1 || tn->arrayBounds != NIL)
		return false;
	name = strVal(linitial(tn->names));
	return strcmp(name, "serial") == 0 || strcmp(name, "serial4") == 0 ||
		strcmp(name, "bigserial") == 0 || strcmp(name, "serial8") == 0 ||
		strcmp(name, "smallserial") == 0 || strcmp(name, "serial2") == 0;
}

static void
classify_add_column(ClassifyCtx *cx, DdlFinding *f, ColumnDef *col)
{
	Node	   *def = col->raw_default;
	bool		notnull = col->is_not_null;
	bool		identity = false,
				generated = false,
				domain_checked = false;
	ListCell   *lc;
	Type		typ;
	int32		typmod;
	StringInfoData buf;

	initStringInfo(&buf);
	foreach(lc, col->constraints)
	{
		Constraint *c = lfirst_node(Constraint, lc);

		switch (c->contype)
		{
			case CONSTR_DEFAULT:
				def = c->raw_expr;
				break;
			case CONSTR_NOTNULL:
			case CONSTR_PRIMARY:
				notnull = true;
				if (c->contype == CONSTR_PRIMARY)
				{
					f->scans = true;
					note(f, "the column's PRIMARY KEY builds an index over every row");
				}
				break;
			case CONSTR_UNIQUE:
				f->scans = true;
				note(f, "the column's UNIQUE constraint builds an index over every row");
				break;
			case CONSTR_IDENTITY:
				identity = true;
				break;
			case CONSTR_GENERATED:
				generated = true;
				break;
			case CONSTR_CHECK:
				f->scans = true;
				note(f, "the column's CHECK constraint is checked against every row");
				break;
			case CONSTR_FOREIGN:
				classify_fk(cx, f, c);
				break;
			default:
				break;
		}
	}

	typ = LookupTypeName(NULL, col->typeName, &typmod, true);
	if (typ != NULL)
	{
		Form_pg_type t = (Form_pg_type) GETSTRUCT(typ);

		if (t->typtype == TYPTYPE_DOMAIN && DomainHasConstraints(t->oid))
			domain_checked = true;
		ReleaseSysCache(typ);
	}

	if (is_serial_type(col->typeName) || identity)
	{
		f->rewrites = true;
		note(f, "a serial or identity column draws a new sequence value for every existing row: the table is rewritten");
	}
	else if (generated)
	{
		f->rewrites = true;
		note(f, "a stored generated column is computed for every existing row: the table is rewritten");
	}
	else if (def != NULL && raw_expr_volatile(def))
	{
		f->rewrites = true;
		note(f, "the default is volatile, so every existing row gets its own value: the table is rewritten");
	}
	else if (domain_checked)
	{
		f->rewrites = true;
		note(f, "the column's domain has constraints, checked against every existing row: the table is rewritten");
	}
	else if (def != NULL)
		note(f, "non-volatile default: stored once in the catalog, no rewrite (PostgreSQL 11+)");
	else
		note(f, "no default: catalog change only");

	if (notnull && def == NULL && !identity && !generated && !is_serial_type(col->typeName))
	{
		f->scans = true;
		note(f, "NOT NULL without a default: fails unless the table is empty");
	}

	if (f->rewrites && !exempt(f))
	{
		appendStringInfo(&buf, "Add the column without the default (ALTER TABLE %s ADD COLUMN %s ...), then ALTER COLUMN %s SET DEFAULT for new rows, and backfill existing rows in batches.",
						 f->relation, quote_identifier(col->colname),
						 quote_identifier(col->colname));
		suggest(f, buf.data);
	}
}

static void
classify_alter_type(ClassifyCtx *cx, DdlFinding *f, AlterTableCmd *cmd)
{
	ColumnDef  *def = (ColumnDef *) cmd->def;
	HeapTuple	atttup;
	Form_pg_attribute att;
	Type		newtyp;
	int32		newtypmod;
	Oid			newtypid;
	Node	   *using = def->raw_default;
	StringInfoData buf;

	initStringInfo(&buf);
	if (!OidIsValid(f->relid))
	{
		f->rewrites = true;
		note(f, "ALTER COLUMN TYPE rewrites the table unless the change is binary-coercible");
		return;
	}
	atttup = SearchSysCacheAttName(f->relid, cmd->name);
	if (!HeapTupleIsValid(atttup))
	{
		note(f, "column does not exist: the statement will fail");
		return;
	}
	att = (Form_pg_attribute) GETSTRUCT(atttup);
	newtyp = LookupTypeName(NULL, def->typeName, &newtypmod, true);
	if (newtyp == NULL)
	{
		f->rewrites = true;
		note(f, "the new type does not exist yet: assuming a rewrite");
	}
	else
	{
		newtypid = ((Form_pg_type) GETSTRUCT(newtyp))->oid;
		ReleaseSysCache(newtyp);

		if (using != NULL &&
			!(IsA(using, ColumnRef) &&
			  list_length(((ColumnRef *) using)->fields) == 1 &&
			  IsA(linitial(((ColumnRef *) using)->fields), String) &&
			  strcmp(strVal(linitial(((ColumnRef *) using)->fields)), cmd->name) == 0))
		{
			f->rewrites = true;
			note(f, "the USING expression is computed for every row: the table and its indexes are rewritten");
		}
		else
		{
			ParseState *pstate = make_parsestate(NULL);
			Node	   *expr;

			expr = coerce_to_target_type(pstate,
										 (Node *) makeVar(1, att->attnum, att->atttypid,
														  att->atttypmod, att->attcollation, 0),
										 att->atttypid, newtypid, newtypmod,
										 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
			free_parsestate(pstate);
			if (expr == NULL)
			{
				f->rewrites = true;
				appendStringInfo(&buf, "no assignment cast from %s to %s: the statement needs USING and then rewrites the table",
								 format_type_be(att->atttypid), format_type_be(newtypid));
				note(f, buf.data);
				resetStringInfo(&buf);
			}
			else
			{
				/*
				 * Simplifying the coercion (a length coercion that only
				 * widens becomes a relabel) runs the functions' planner
				 * support; only for built-in code, a cast by a user
				 * function is taken as a rewrite.
				 */
				if (uses_only_builtin_code(expr))
					expr = (Node *) expression_planner((Expr *) expr);
				if (coercion_requires_rewrite(expr, att->attnum))
				{
					f->rewrites = true;
					appendStringInfo(&buf, "%s to %s is not binary-coercible: the table and its indexes are rewritten",
									 format_type_with_typemod(att->atttypid, att->atttypmod),
									 format_type_with_typemod(newtypid, newtypmod));
				}
				else
					appendStringInfo(&buf, "%s to %s is binary-coercible: no rewrite (indexes on the column are rebuilt only if their operator class changes)",
									 format_type_with_typemod(att->atttypid, att->atttypmod),
									 format_type_with_typemod(newtypid, newtypmod));
				note(f, buf.data);
				resetStringInfo(&buf);
			}
		}
	}
	if (f->rewrites && !exempt(f))
	{
		appendStringInfo(&buf, "Expand and contract: add a new column of the new type, keep it in step with a trigger, backfill %s in batches, switch readers, then drop the old column.",
						 quote_identifier(cmd->name));
		suggest(f, buf.data);
	}
	ReleaseSysCache(atttup);
}

static void
classify_set_not_null(ClassifyCtx *cx, DdlFinding *f, const char *colname)
{
	HeapTuple	atttup;
	Form_pg_attribute att;
	Relation	rel;
	StringInfoData buf;

	if (!OidIsValid(f->relid))
	{
		f->scans = true;
		note(f, "SET NOT NULL scans the table for NULLs");
		return;
	}
	atttup = SearchSysCacheAttName(f->relid, colname);
	if (!HeapTupleIsValid(atttup))
	{
		note(f, "column does not exist: the statement will fail");
		return;
	}
	att = (Form_pg_attribute) GETSTRUCT(atttup);
	rel = open_rel_of(cx, f->relid);
	if (att->attnotnull)
		note(f, "the column is already NOT NULL: nothing to do");
	else if (text_check_proves(cx->state, f->relid, colname))
		note(f, "a CHECK (column IS NOT NULL) constraint validated earlier in this text proves it: no scan");
	else if (rel != NULL && notnull_proven_by_checks(rel, att))
		note(f, "a valid CHECK constraint proves the column IS NOT NULL: no scan (PostgreSQL 12+)");
	else
	{
		char	   *con;

		f->scans = true;
		note(f, "SET NOT NULL scans the whole table for NULLs while holding the lock");
		initStringInfo(&buf);
		con = psprintf("%s_not_null", colname);
		appendStringInfo(&buf, "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID; ALTER TABLE %s VALIDATE CONSTRAINT %s; then SET NOT NULL skips the scan.",
						 f->relation, quote_identifier(con), quote_identifier(colname),
						 f->relation, quote_identifier(con));
		suggest(f, buf.data);
	}
	ReleaseSysCache(atttup);
}

/* The referenced side of a foreign key gets its own row. */
static void
classify_fk(ClassifyCtx *cx, DdlFinding *f, Constraint *c)
{
	DdlFinding *ref;
	bool		validates = !c->skip_validation && !exempt(f);

	if (c->skip_validation)
		note(f, "NOT VALID: existing rows are not checked now");
	else
	{
		f->scans = true;
		note(f, "the foreign key is checked against every existing row while both tables are locked");
		if (!exempt(f))
			suggest(f, "Add it NOT VALID (brief lock), then VALIDATE CONSTRAINT in a separate transaction: validation takes only ShareUpdateExclusiveLock on this table and RowShareLock on the referenced one.");
	}
	if (c->pktable == NULL)
		return;
	ref = target_rv(cx, c->pktable);
	ref->lockmode = ShareRowExclusiveLock;
	if (validates)
	{
		ref->scans = true;
		note(ref, "referenced table: writes wait while the referencing table is validated");
		suggest(ref, "Add the foreign key NOT VALID, then VALIDATE CONSTRAINT.");
	}
	else
		note(ref, "referenced table: brief lock");
}

/*
 * PRIMARY KEY USING INDEX marks the index's columns NOT NULL: for each
 * nullable one PostgreSQL runs SET NOT NULL, which scans unless proven.
 */
static void
pk_columns_not_null(ClassifyCtx *cx, DdlFinding *f, const char *indexname)
{
	Oid			indid;
	HeapTuple	it;
	Form_pg_index ind;
	Relation	rel = open_rel_of(cx, f->relid);
	int			i;

	if (!OidIsValid(f->relid))
		return;
	indid = get_relname_relid(indexname, get_rel_namespace(f->relid));
	it = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indid));
	if (!HeapTupleIsValid(it))
		return;
	ind = (Form_pg_index) GETSTRUCT(it);
	for (i = 0; i < ind->indnkeyatts; i++)
	{
		AttrNumber	attnum = ind->indkey.values[i];
		HeapTuple	at;
		Form_pg_attribute att;

		if (attnum <= 0)
			continue;
		at = SearchSysCache2(ATTNUM, ObjectIdGetDatum(f->relid), Int16GetDatum(attnum));
		if (!HeapTupleIsValid(at))
			continue;
		att = (Form_pg_attribute) GETSTRUCT(at);
		if (!att->attnotnull &&
			!text_check_proves(cx->state, f->relid, NameStr(att->attname)) &&
			!(rel != NULL && notnull_proven_by_checks(rel, att)))
		{
			StringInfoData buf;

			f->scans = true;
			initStringInfo(&buf);
			appendStringInfo(&buf, "column %s is nullable: PRIMARY KEY sets it NOT NULL, which scans the table",
							 quote_identifier(NameStr(att->attname)));
			note(f, buf.data);
			resetStringInfo(&buf);
			appendStringInfo(&buf, "First prove %s NOT NULL without a scan: ADD CONSTRAINT ... CHECK (%s IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, SET NOT NULL.",
							 quote_identifier(NameStr(att->attname)),
							 quote_identifier(NameStr(att->attname)));
			suggest(f, buf.data);
		}
		ReleaseSysCache(at);
	}
	ReleaseSysCache(it);
}

static bool
same_tablespace(Oid relid, const char *tsname)
{
	Oid			newts = get_tablespace_oid(tsname, true);
	Oid			oldts = InvalidOid;
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

	if (!HeapTupleIsValid(tp) || !OidIsValid(newts))
	{
		if (HeapTupleIsValid(tp))
			ReleaseSysCache(tp);
		return false;
	}
	oldts = ((Form_pg_class) GETSTRUCT(tp))->reltablespace;
	ReleaseSysCache(tp);
	return newts == oldts || (newts == MyDatabaseTableSpace && oldts == InvalidOid);
}

static void
classify_add_constraint(ClassifyCtx *cx, DdlFinding *f, Constraint *c)
{
	StringInfoData buf;
	char	   *col;

	initStringInfo(&buf);
	switch (c->contype)
	{
		case CONSTR_CHECK:
			col = check_is_not_null_column(c);
			if (col != NULL && cx->state != NULL && OidIsValid(f->relid))
			{
				DdlTextCheck *chk = palloc0(sizeof(DdlTextCheck));

				chk->relid = f->relid;
				chk->conname = c->conname ? pstrdup(c->conname) : NULL;
				chk->colname = pstrdup(col);
				chk->valid = !c->skip_validation;
				cx->state->checks = lappend(cx->state->checks, chk);
			}
			if (c->skip_validation)
				note(f, "NOT VALID: existing rows are not checked now; VALIDATE CONSTRAINT later takes only ShareUpdateExclusiveLock");
			else
			{
				f->scans = true;
				note(f, "the CHECK constraint is tested against every existing row while the lock is held");
				if (!exempt(f))
				{
					appendStringInfo(&buf, "ALTER TABLE %s ADD CONSTRAINT %s CHECK (...) NOT VALID; then ALTER TABLE %s VALIDATE CONSTRAINT %s in a separate transaction.",
									 f->relation, c->conname ? quote_identifier(c->conname) : "name",
									 f->relation, c->conname ? quote_identifier(c->conname) : "name");
					suggest(f, buf.data);
				}
			}
			break;
		case CONSTR_FOREIGN:
			classify_fk(cx, f, c);
			break;
		case CONSTR_PRIMARY:
		case CONSTR_UNIQUE:
		case CONSTR_EXCLUSION:
			if (c->indexname != NULL)
			{
				note(f, "USING INDEX: the existing index becomes the constraint, no build");
				if (c->contype == CONSTR_PRIMARY)
					pk_columns_not_null(cx, f, c->indexname);
			}
			else
			{
				f->scans = true;
				note(f, "builds a unique index while holding the lock: reads and writes wait for the whole build");
				if (!exempt(f) && c->contype != CONSTR_EXCLUSION)
				{
					appendStringInfo(&buf, "CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (...); then ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s.",
									 c->conname ? quote_identifier(c->conname) : "idx",
									 f->relation, f->relation,
									 c->conname ? quote_identifier(c->conname) : "name",
									 c->contype == CONSTR_PRIMARY ? "PRIMARY KEY" : "UNIQUE",
									 c->conname ? quote_identifier(c->conname) : "idx");
					suggest(f, buf.data);
				}
			}
			break;
		default:
			break;
	}
}

static void
classify_alter_table(ClassifyCtx *cx, AlterTableStmt *stmt)
{
	DdlFinding *f = target_rv(cx, stmt->relation);
	ListCell   *lc;

	f->lockmode = AlterTableGetLockLevel(stmt->cmds);

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AddColumn:
#if PG_VERSION_NUM < 160000
			case AT_AddColumnRecurse:
#endif
				classify_add_column(cx, f, (ColumnDef *) cmd->def);
				break;
			case AT_AlterColumnType:
				classify_alter_type(cx, f, cmd);
				break;
			case AT_SetNotNull:
				classify_set_not_null(cx, f, cmd->name);
				break;
			case AT_AddConstraint:
#if PG_VERSION_NUM < 160000
			case AT_AddConstraintRecurse:
#endif
				classify_add_constraint(cx, f, (Constraint *) cmd->def);
				break;
			case AT_ValidateConstraint:
#if PG_VERSION_NUM < 160000
			case AT_ValidateConstraintRecurse:
#endif
				if (cx->state != NULL && cmd->name != NULL)
				{
					ListCell   *lc2;

					foreach(lc2, cx->state->checks)
					{
						DdlTextCheck *chk = lfirst(lc2);

						if (chk->relid == f->relid && chk->conname != NULL &&
							strcmp(chk->conname, cmd->name) == 0)
							chk->valid = true;
					}
				}
				f->scans = true;
				note(f, "VALIDATE CONSTRAINT reads every row but reads and writes continue");
				break;
			case AT_SetTableSpace:
				if (OidIsValid(f->relid) && same_tablespace(f->relid, cmd->name))
					note(f, "SET TABLESPACE to the current tablespace: nothing to do");
				else
				{
					f->rewrites = true;
					note(f, "SET TABLESPACE copies every block of the table");
				}
				break;
			case AT_SetLogged:
			case AT_SetUnLogged:
				if (OidIsValid(f->relid) &&
					get_rel_persistence(f->relid) ==
					(cmd->subtype == AT_SetLogged ? RELPERSISTENCE_PERMANENT : RELPERSISTENCE_UNLOGGED))
					note(f, "the table already has that persistence: nothing to do");
				else
				{
					f->rewrites = true;
					note(f, "SET LOGGED/UNLOGGED rewrites the table");
				}
				break;
#if PG_VERSION_NUM >= 150000
			case AT_SetAccessMethod:
				if (OidIsValid(f->relid) && cmd->name != NULL &&
					get_table_am_oid(cmd->name, true) == rel_access_method(f->relid))
					note(f, "SET ACCESS METHOD to the current access method: nothing to do");
				else
				{
					f->rewrites = true;
					note(f, "SET ACCESS METHOD rewrites the table");
				}
				break;
#endif
			case AT_AttachPartition:
				if (stmt->objtype == OBJECT_TABLE)
				{
					PartitionCmd *pc = (PartitionCmd *) cmd->def;
					DdlFinding *part = target_rv(cx, pc->name);

					part->lockmode = AccessExclusiveLock;
					if (attach_will_fail(cx, f, part))
						note(part, "the partition's columns differ from the parent's: the statement will fail");
					else if (bound_implied(cx, f, part, pc->bound))
						note(part, "valid CHECK constraints already imply the partition bound: no scan");
					else
					{
						part->scans = true;
						note(part, "the partition is scanned to prove its rows fit the bound");
						suggest(part, "Add a CHECK constraint matching the partition bound NOT VALID, VALIDATE it, then ATTACH: the scan is skipped.");
					}
				}
				note(f, "ATTACH PARTITION: brief lock on the parent");
				break;
			case AT_DetachPartition:
				if (((PartitionCmd *) cmd->def)->concurrent)
					note(f, "DETACH PARTITION CONCURRENTLY: reads and writes continue");
				else
				{
					note(f, "DETACH PARTITION: brief lock on the parent");
					suggest(f, "DETACH PARTITION ... CONCURRENTLY (outside a transaction block) keeps reads and writes running.");
				}
				break;
			default:
				break;
		}
	}
	if (f->reason.len == 0)
		note(f, "catalog change only");
}

/*
 * What ATExecAttachPartition checks before it maps columns: the same
 * columns by name and type, none extra.  If they differ the statement fails
 * with PostgreSQL's own error ("child table is missing column"): no risk to
 * judge, and nothing of ours may be raised first.
 */
static bool
attach_will_fail(ClassifyCtx *cx, DdlFinding *parent, DdlFinding *part)
{
	Relation	prel = OidIsValid(parent->relid) ? open_rel_of(cx, parent->relid) : NULL;
	Relation	arel = OidIsValid(part->relid) ? open_rel_of(cx, part->relid) : NULL;

	if (prel == NULL || arel == NULL ||
		prel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return false;
	return !partition_columns_match(prel, arel);
}

/*
 * Would ATTACH PARTITION skip its validation scan?  The same test as
 * ATExecAttachPartition / QueuePartitionConstraintValidation: the bound's
 * constraint (plus the parent's own partition constraint), mapped to the
 * partition's columns, implied by the partition's valid CHECK constraints.
 * Needs both relations open (conditional lock); otherwise assume a scan.
 */
static bool
bound_implied(ClassifyCtx *cx, DdlFinding *parent, DdlFinding *part,
			  PartitionBoundSpec *bound)
{
	Relation	prel = OidIsValid(parent->relid) ? open_rel_of(cx, parent->relid) : NULL;
	Relation	arel = OidIsValid(part->relid) ? open_rel_of(cx, part->relid) : NULL;
	ParseState *pstate;
	PartitionBoundSpec *spec;
	PartitionKey key;
	List	   *qual;
	List	   *existing;
	int			i;

	if (prel == NULL || arel == NULL || bound == NULL ||
		prel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE ||
		arel->rd_rel->relkind != RELKIND_RELATION)
		return false;

	/* checked by attach_will_fail; mapping columns would raise otherwise */
	if (!partition_columns_match(prel, arel))
		return false;

	/*
	 * Transforming the bound coerces its values to the key's types and
	 * evaluates them: with a key over a user-defined type or expression
	 * (domain CHECK constraints, casts), that would run user code.
	 */
	key = RelationGetPartitionKey(prel);
	if (key == NULL)
		return false;
	for (i = 0; i < key->partnatts; i++)
		if (key->parttypid[i] >= FirstNormalObjectId)
			return false;
	if (!uses_only_builtin_code((Node *) key->partexprs))
		return false;

	/*
	 * Transforming the bound evaluates its expressions; a dry run must not
	 * call functions, so a bound that names one is assumed to need a scan.
	 */
	if (raw_calls_function((Node *) bound->listdatums) ||
		raw_calls_function((Node *) bound->lowerdatums) ||
		raw_calls_function((Node *) bound->upperdatums))
		return false;
	pstate = make_parsestate(NULL);
	spec = transformPartitionBound(pstate, prel, bound);
	free_parsestate(pstate);
	if (spec->is_default)
		return false;
	qual = list_concat(get_qual_from_partbound(prel, spec), RelationGetPartitionQual(prel));
	if (qual == NIL)
		return true;
	if (!uses_only_builtin_code((Node *) qual))
		return false;
	qual = map_partition_varattnos(qual, 1, arel, prel);

	/*
	 * PartConstraintImpliedByRelConstraint without its constant folding of
	 * the partition's constraints: valid CHECK constraints (structural, see
	 * structural_checks) and NOT NULL columns.
	 */
	existing = structural_checks(arel);
	for (i = 0; i < arel->rd_att->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(arel->rd_att, i);

		if (att->attnotnull && !att->attisdropped)
		{
			NullTest   *nt = makeNode(NullTest);

			nt->arg = (Expr *) makeVar(1, att->attnum, att->atttypid, att->atttypmod,
									   att->attcollation, 0);
			nt->nulltesttype = IS_NOT_NULL;
			nt->argisrow = false;
			nt->location = -1;
			existing = lappend(existing, nt);
		}
	}
	if (existing == NIL)
		return false;
	return predicate_implied_by(qual, existing, false);
}

/*
 * The checks of ATExecAttachPartition / MergeAttributesIntoExisting that
 * come before any column mapping: every column of the parent exists in the
 * partition with the same type, typmod and collation, and the partition has
 * no column the parent lacks.
 */
static bool
partition_columns_match(Relation prel, Relation arel)
{
	TupleDesc	pdesc = RelationGetDescr(prel);
	TupleDesc	adesc = RelationGetDescr(arel);
	int			i;
	int			pcount = 0;
	int			acount = 0;

	for (i = 0; i < pdesc->natts; i++)
	{
		Form_pg_attribute patt = TupleDescAttr(pdesc, i);
		HeapTuple	tup;
		Form_pg_attribute aatt;
		bool		same;

		if (patt->attisdropped)
			continue;
		pcount++;
		tup = SearchSysCacheAttName(RelationGetRelid(arel), NameStr(patt->attname));
		if (!HeapTupleIsValid(tup))
			return false;
		aatt = (Form_pg_attribute) GETSTRUCT(tup);
		same = aatt->atttypid == patt->atttypid && aatt->atttypmod == patt->atttypmod &&
			aatt->attcollation == patt->attcollation;
		ReleaseSysCache(tup);
		if (!same)
			return false;
	}
	for (i = 0; i < adesc->natts; i++)
		if (!TupleDescAttr(adesc, i)->attisdropped)
			acount++;
	return pcount == acount;
}

/* ---------- other statements ---------- */

static void
classify_index(ClassifyCtx *cx, IndexStmt *stmt)
{
	DdlFinding *f = target_rv(cx, stmt->relation);

	f->scans = true;
	if (stmt->concurrent)
	{
		f->lockmode = ShareUpdateExclusiveLock;
		note(f, "CONCURRENTLY: reads and writes continue; the table is scanned twice and the build waits for running transactions");
	}
	else
	{
		f->lockmode = ShareLock;
		note(f, "builds the index under ShareLock: INSERT, UPDATE and DELETE wait for the whole build");
		if (OidIsValid(f->relid) && get_rel_relkind(f->relid) == RELKIND_PARTITIONED_TABLE)
			suggest(f, "CREATE INDEX ... ON ONLY the parent (it stays invalid), CREATE INDEX CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH PARTITION each one: CONCURRENTLY is not available for a partitioned table.");
		else if (!exempt(f))
			suggest(f, stmt->unique ?
					"CREATE UNIQUE INDEX CONCURRENTLY with the same definition (outside a transaction block; drop the INVALID index and retry if it fails)." :
					"CREATE INDEX CONCURRENTLY with the same definition (outside a transaction block; drop the INVALID index and retry if it fails).");
	}
}

static bool
option_true(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, name) == 0)
			return defGetBoolean(opt);
	}
	return false;
}

static void
classify_reindex(ClassifyCtx *cx, ReindexStmt *stmt)
{
	DdlFinding *f;
#if PG_VERSION_NUM >= 140000
	bool		concurrent = option_true(stmt->params, "concurrently");
#else
	bool		concurrent = stmt->concurrent;
#endif

	if (stmt->kind == REINDEX_OBJECT_INDEX)
	{
		Oid			indid = RangeVarGetRelid(stmt->relation, NoLock, true);
		Oid			heapid = OidIsValid(indid) ? IndexGetRelation(indid, true) : InvalidOid;

		f = new_finding(cx);
		if (OidIsValid(heapid))
			target_oid(cx, f, heapid);
		else
		{
			f->missing = true;
			f->relation = quote_qualified_identifier(stmt->relation->schemaname,
													 stmt->relation->relname);
		}
	}
	else if (stmt->kind == REINDEX_OBJECT_TABLE)
		f = target_rv(cx, stmt->relation);
	else
	{
		f = new_finding(cx);
		f->whole_database = true;
		if (stmt->kind == REINDEX_OBJECT_SCHEMA && stmt->name != NULL)
		{
			Oid			nspid = get_namespace_oid(stmt->name, true);

			f->bytes = OidIsValid(nspid) ? scope_bytes(nspid, false) : 0;
			note(f, "every table of the schema");
		}
		else
			note(f, "every table of the database");
	}
	f->scans = true;
	if (concurrent)
	{
		f->lockmode = ShareUpdateExclusiveLock;
		note(f, "CONCURRENTLY: reads and writes continue");
	}
	else
	{
		f->lockmode = ShareLock;
		f->blocks_reads = true;
		note(f, "each index is rebuilt under AccessExclusiveLock and the table under ShareLock: writes wait, and so do queries whose planning touches the index");
		if (!exempt(f))
			suggest(f, "REINDEX ... CONCURRENTLY (PostgreSQL 12+).");
	}
}

static void
classify_vacuum(ClassifyCtx *cx, VacuumStmt *stmt)
{
	bool		full = stmt->is_vacuumcmd && option_true(stmt->options, "full");
	ListCell   *lc;
	List	   *targets = NIL;

	if (stmt->rels == NIL)
	{
		DdlFinding *f = new_finding(cx);

		f->whole_database = true;
		note(f, "every table of the database");
		targets = list_make1(f);
	}
	foreach(lc, stmt->rels)
	{
		VacuumRelation *vr = lfirst_node(VacuumRelation, lc);

		targets = lappend(targets, target_rv(cx, vr->relation));
	}
	foreach(lc, targets)
	{
		DdlFinding *f = lfirst(lc);

		if (full)
		{
			f->lockmode = AccessExclusiveLock;
			f->rewrites = true;
			note(f, "VACUUM FULL rewrites the table and its indexes while reads and writes wait");
			if (!exempt(f))
				suggest(f, "Plain VACUUM (no lock against reads or writes), or rebuild online with pg_repack / pg_squeeze.");
		}
		else
		{
			f->lockmode = ShareUpdateExclusiveLock;
			f->scans = stmt->is_vacuumcmd;
			note(f, stmt->is_vacuumcmd ? "VACUUM: reads and writes continue" :
				 "ANALYZE reads a sample of 300 x default_statistics_target rows: reads and writes continue");
		}
	}
}

static void
classify_cluster(ClassifyCtx *cx, ClusterStmt *stmt)
{
	DdlFinding *f;

	if (stmt->relation)
		f = target_rv(cx, stmt->relation);
	else
	{
		f = new_finding(cx);
		f->whole_database = true;
		f->bytes = scope_bytes(InvalidOid, true);
		note(f, "every previously clustered table of the database");
	}
	f->lockmode = AccessExclusiveLock;
	f->rewrites = true;
	note(f, "CLUSTER rewrites the table and its indexes while reads and writes wait");
	if (!exempt(f))
		suggest(f, "Rebuild online with pg_repack (it also reorders by an index).");
}

static bool
matview_is_populated(Oid relid)
{
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		populated = true;

	if (HeapTupleIsValid(tp))
	{
		populated = ((Form_pg_class) GETSTRUCT(tp))->relispopulated;
		ReleaseSysCache(tp);
	}
	return populated;
}

static void
classify_refresh(ClassifyCtx *cx, RefreshMatViewStmt *stmt)
{
	DdlFinding *f = target_rv(cx, stmt->relation);

	f->no_writes = true;
	if (stmt->concurrent)
	{
		f->lockmode = ExclusiveLock;
		f->scans = true;
		note(f, "CONCURRENTLY: readers keep reading the old contents during the refresh");
	}
	else
	{
		f->lockmode = AccessExclusiveLock;
		f->rewrites = true;
		if (OidIsValid(f->relid) && !matview_is_populated(f->relid))
		{
			/* nobody can read it yet, so nobody waits for it */
			f->is_new = true;
			note(f, "not populated yet: no reader can be blocked by its first refresh");
		}
		else
			note(f, "the view's query runs and its result is rewritten while readers wait; judged by its current contents, the best predictor of the next result's size");
		if (!exempt(f))
			suggest(f, "REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view).");
	}
}

static void
classify_rename(ClassifyCtx *cx, RenameStmt *stmt)
{
	DdlFinding *f;

	if (stmt->relation == NULL)
		return;
	f = target_rv(cx, stmt->relation);
	if (stmt->renameType == OBJECT_INDEX ||
		(stmt->renameType == OBJECT_TABLE && f->relid && get_rel_relkind(f->relid) == RELKIND_INDEX))
		f->lockmode = ShareUpdateExclusiveLock;
	else
		f->lockmode = AccessExclusiveLock;
	note(f, "catalog change only, but application code still using the old name fails at once");
	if (!exempt(f) && f->lockmode == AccessExclusiveLock)
		suggest(f, "Expand and contract: add the new name (a view or a new column kept in step) first, move the code, drop the old name later; SET lock_timeout before it.");
}

static void
classify_drop(ClassifyCtx *cx, DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TABLE && stmt->removeType != OBJECT_INDEX &&
		stmt->removeType != OBJECT_MATVIEW)
		return;
	foreach(lc, stmt->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
		DdlFinding *f;

		if (stmt->removeType == OBJECT_INDEX)
		{
			Oid			indid = RangeVarGetRelid(rv, NoLock, true);
			Oid			heapid = OidIsValid(indid) ? IndexGetRelation(indid, true) : InvalidOid;

			f = new_finding(cx);
			if (OidIsValid(heapid))
				target_oid(cx, f, heapid);
			else
			{
				f->missing = true;
				f->relation = quote_qualified_identifier(rv->schemaname, rv->relname);
			}
			if (stmt->concurrent)
			{
				f->lockmode = ShareUpdateExclusiveLock;
				note(f, "DROP INDEX CONCURRENTLY: reads and writes continue");
			}
			else
			{
				f->lockmode = AccessExclusiveLock;
				note(f, "DROP INDEX locks its table against reads and writes (briefly, once granted)");
				if (!exempt(f))
					suggest(f, "DROP INDEX CONCURRENTLY (outside a transaction block).");
			}
		}
		else
		{
			f = target_rv(cx, rv);
			f->lockmode = AccessExclusiveLock;
			note(f, "brief lock once granted; the data is gone");
		}
	}
}

static void
classify_lock_list(ClassifyCtx *cx, List *relations, LOCKMODE mode, const char *what)
{
	ListCell   *lc;

	foreach(lc, relations)
	{
		DdlFinding *f = target_rv(cx, lfirst_node(RangeVar, lc));

		f->lockmode = mode;
		note(f, what);
	}
}

static void
classify_create(ClassifyCtx *cx, CreateStmt *stmt)
{
	DdlFinding *f = new_finding(cx);
	ListCell   *lc;

	f->relation = quote_qualified_identifier(stmt->relation->schemaname,
											 stmt->relation->relname);
	f->is_new = true;
	note(f, "creates a new, empty table");
	if (cx->state != NULL)
		cx->state->created = lappend(cx->state->created, stmt->relation);

	if (stmt->partbound != NULL && stmt->inhRelations != NIL)
	{
		DdlFinding *parent = target_rv(cx, linitial_node(RangeVar, stmt->inhRelations));

		parent->lockmode = AccessExclusiveLock;
		note(parent, "PARTITION OF locks the parent (and scans its default partition, if any)");
		suggest(parent, "Create the table standalone, add a CHECK matching the bound, then ALTER TABLE ... ATTACH PARTITION (ShareUpdateExclusiveLock on the parent).");
	}

	/* Foreign keys lock the referenced tables briefly (the new one is empty). */
	foreach(lc, stmt->tableElts)
	{
		Node	   *elt = lfirst(lc);
		List	   *cons = NIL;
		ListCell   *lc2;

		if (IsA(elt, ColumnDef))
			cons = ((ColumnDef *) elt)->constraints;
		else if (IsA(elt, Constraint))
			cons = list_make1(elt);
		foreach(lc2, cons)
		{
			Constraint *c = lfirst_node(Constraint, lc2);

			if (c->contype == CONSTR_FOREIGN && c->pktable != NULL)
			{
				DdlFinding *ref = target_rv(cx, c->pktable);

				ref->lockmode = ShareRowExclusiveLock;
				note(ref, "referenced table: brief lock while the foreign key's triggers are created");
			}
		}
	}
}

bool
ddl_is_classified(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
		case T_IndexStmt:
		case T_ReindexStmt:
		case T_VacuumStmt:
		case T_ClusterStmt:
		case T_RefreshMatViewStmt:
		case T_RenameStmt:
		case T_DropStmt:
		case T_TruncateStmt:
		case T_CreateTrigStmt:
		case T_LockStmt:
		case T_CreateStmt:
			return true;
		default:
			return false;
	}
}

/*
 * Is a lock wait bounded?  In a check_ddl text: a SET lock_timeout earlier
 * in the text.  Live: the session's lock_timeout.
 */
static bool
lock_wait_bounded(DdlTextState *state)
{
	if (state != NULL)
		return state->lock_timeout;
	return LockTimeout > 0;
}

static void
track_lock_timeout(DdlTextState *state, VariableSetStmt *vs)
{
	if (state == NULL || vs->name == NULL || strcmp(vs->name, "lock_timeout") != 0)
		return;
	if (vs->kind == VAR_SET_VALUE && list_length(vs->args) == 1 &&
		IsA(linitial(vs->args), A_Const))
	{
		A_Const    *c = linitial_node(A_Const, vs->args);

		if (c->isnull)
			state->lock_timeout = false;
		else if (IsA(&c->val, Integer))
			state->lock_timeout = intVal(&c->val) != 0;
		else if (IsA(&c->val, String))
			state->lock_timeout = strspn(strVal(&c->val), "0 ") != strlen(strVal(&c->val));
		else
			state->lock_timeout = true;
	}
	else if (vs->kind == VAR_SET_DEFAULT || vs->kind == VAR_RESET || vs->kind == VAR_RESET_ALL)
		state->lock_timeout = false;
}

static void
finalize(DdlFinding *f, DdlTextState *state)
{
	bool		heavy = f->rewrites || f->scans;
	DdlRisk		r;

	if (f->lockmode >= AccessExclusiveLock)
		f->blocks_reads = true;
	if (f->lockmode >= ShareLock && !f->no_writes)
		f->blocks_writes = true;
	if (f->lockmode == NoLock)
		f->blocks_reads = f->blocks_writes = false;

	if (f->missing)
	{
		r = DDL_RISK_NONE;
		note(f, "relation does not exist");
	}
	else if (f->is_new || f->is_temp)
		r = DDL_RISK_NONE;
	else if (heavy && (f->blocks_writes || f->blocks_reads))
		r = DDL_RISK_HIGH;
	else if (f->blocks_reads)
		r = DDL_RISK_MEDIUM;
	else if (f->blocks_writes || heavy)
		r = DDL_RISK_LOW;
	else
		r = DDL_RISK_NONE;

	if (f->is_new && !f->missing && f->lockmode != NoLock)
		note(f, "exempt: created in this transaction, no other session can see it");
	else if (f->is_temp && f->lockmode != NoLock)
		note(f, "exempt: a temporary table, no other session can see it");
	else if (exempt_small(f) && r > DDL_RISK_LOW)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfo(&buf, "exempt: " INT64_FORMAT " bytes is below pg_architect.ddl_guard_min_size",
						 f->bytes);
		note(f, buf.data);
		r = DDL_RISK_LOW;
	}
	if (r == DDL_RISK_MEDIUM && lock_wait_bounded(state))
	{
		note(f, "lock_timeout is set: a wait for the lock gives up instead of queueing traffic behind it");
		r = DDL_RISK_LOW;
	}
	else if (r == DDL_RISK_MEDIUM && f->safer.len == 0)
		suggest(f, "SET lock_timeout = '2s' first and retry on timeout: while it waits for the lock, every later query on the table waits behind it.");
	f->risk = r;
}

/*
 * Classify one raw utility statement.  Returns a list of DdlFinding, one per
 * relation, or NIL for statements that take no lock on an existing table.
 */
List *
ddl_classify(Node *parsetree, DdlTextState *state)
{
	ClassifyCtx cx;
	ListCell   *lc;

	memset(&cx, 0, sizeof(cx));
	cx.state = state;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			classify_alter_table(&cx, (AlterTableStmt *) parsetree);
			break;
		case T_IndexStmt:
			classify_index(&cx, (IndexStmt *) parsetree);
			break;
		case T_ReindexStmt:
			classify_reindex(&cx, (ReindexStmt *) parsetree);
			break;
		case T_VacuumStmt:
			classify_vacuum(&cx, (VacuumStmt *) parsetree);
			break;
		case T_ClusterStmt:
			classify_cluster(&cx, (ClusterStmt *) parsetree);
			break;
		case T_RefreshMatViewStmt:
			classify_refresh(&cx, (RefreshMatViewStmt *) parsetree);
			break;
		case T_RenameStmt:
			classify_rename(&cx, (RenameStmt *) parsetree);
			break;
		case T_DropStmt:
			classify_drop(&cx, (DropStmt *) parsetree);
			break;
		case T_TruncateStmt:
			classify_lock_list(&cx, ((TruncateStmt *) parsetree)->relations,
							   AccessExclusiveLock,
							   "brief lock once granted; every row is gone");
			break;
		case T_CreateTrigStmt:
			if (((CreateTrigStmt *) parsetree)->relation)
				classify_lock_list(&cx, list_make1(((CreateTrigStmt *) parsetree)->relation),
								   ShareRowExclusiveLock, "brief lock once granted: writes wait");
			break;
		case T_LockStmt:
			classify_lock_list(&cx, ((LockStmt *) parsetree)->relations,
							   ((LockStmt *) parsetree)->mode,
							   "held until the end of the transaction");
			break;
		case T_CreateStmt:
			classify_create(&cx, (CreateStmt *) parsetree);
			break;
		case T_VariableSetStmt:
			track_lock_timeout(state, (VariableSetStmt *) parsetree);
			break;
		default:
			break;
	}

	foreach(lc, cx.findings)
		finalize((DdlFinding *) lfirst(lc), state);

	foreach(lc, cx.open_rels)
	{
		Relation	r = lfirst(lc);
		Oid			relid = RelationGetRelid(r);

		relation_close(r, NoLock);
		UnlockRelationOid(relid, AccessShareLock);
	}
	return cx.findings;
}
