/*-------------------------------------------------------------------------
 *
 * migrate.c
 *		The parse side of zero-downtime migrations: what each statement of a
 *		migration script is (architect.migration_statements), validation of
 *		the SQL fragments a DBA hands to architect.backfill
 *		(architect.validate_fragment), and the GUCs of rehearsal and of the
 *		duration model.
 *
 * Contract: everything here only runs the raw parser and looks names up
 * without locking (RangeVarGetRelid with NoLock, missing_ok): no statement
 * is executed, no user-defined code runs, no lock is taken.  The planning,
 * rehearsal, backfill and runbook logic is SQL (sql/parts/65_migrations.sql)
 * built on these rows and on architect.check_ddl(), whose lock and rewrite
 * verdicts it reuses rather than repeats.
 *
 * Called from SQL only; the module table (src/core/pg_architect.c) calls
 * migrate_init to define the GUCs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

#include "core/pg_architect.h"

PG_FUNCTION_INFO_V1(architect_migration_statements);
PG_FUNCTION_INFO_V1(architect_validate_fragment);

/* Rehearsal limits (read by SQL through current_setting). */
static int	rehearse_lock_timeout_ms = 1000;
static int	rehearse_statement_timeout_ms = 30000;
static int	rehearse_max_rewrite_kb = 64 * 1024;

/*
 * The duration model, MB/s; defaults measured by the calibration section of
 * bench/migrate/run.sh on the development machine (2 shared cores).
 */
static double migrate_scan_rate = 90.0;
static double migrate_rewrite_rate = 15.0;
static double migrate_index_rate = 25.0;
static double migrate_backfill_rate = 2.0;

void
migrate_init(void)
{
	DefineCustomIntVariable("pg_architect.rehearse_lock_timeout",
							"lock_timeout under which architect.rehearse runs each statement.",
							NULL, &rehearse_lock_timeout_ms,
							1000, 1, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_architect.rehearse_statement_timeout",
							"statement_timeout under which architect.rehearse runs each statement.",
							NULL, &rehearse_statement_timeout_ms,
							30000, 1, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_architect.rehearse_max_rewrite_size",
							"architect.rehearse does not execute a statement that rewrites a larger table unless forced.",
							NULL, &rehearse_max_rewrite_kb,
							64 * 1024, 0, INT_MAX, PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomRealVariable("pg_architect.migrate_scan_rate",
							 "Duration model: MB/s of a full table scan (VALIDATE, SET NOT NULL).",
							 NULL, &migrate_scan_rate,
							 90.0, 0.01, 1e6, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("pg_architect.migrate_rewrite_rate",
							 "Duration model: MB/s of a table rewrite, heap and indexes (ALTER TYPE, volatile default, VACUUM FULL).",
							 NULL, &migrate_rewrite_rate,
							 15.0, 0.01, 1e6, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("pg_architect.migrate_index_rate",
							 "Duration model: MB of table per second of a B-tree index build.",
							 NULL, &migrate_index_rate,
							 25.0, 0.01, 1e6, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("pg_architect.migrate_backfill_rate",
							 "Duration model: MB of table per second of a batched backfill (UPDATE per batch, before pauses).",
							 NULL, &migrate_backfill_rate,
							 2.0, 0.01, 1e6, PGC_USERSET, 0, NULL, NULL, NULL);
}

/* ---------- architect.migration_statements ---------- */

typedef struct StmtRow
{
	const char *kind;
	RangeVar   *rv;
	int			subcommands;
	const char *column;
	const char *new_name;
	char	   *type_name;
	char	   *expr;			/* default / USING / constraint definition */
	bool		not_null;
	const char *contype;
	const char *conname;
	char	   *keys;
	bool		concurrently;
	bool		not_valid;
	bool		transaction_control;
} StmtRow;

/*
 * The type as format_type() spells it (qualified and quoted as needed, with
 * its modifier) when it exists; the raw name otherwise (a type created
 * earlier in the same script).  Only a catalog lookup: no lock.
 */
static char *
type_text(TypeName *tn)
{
	int32		typmod;
	Type		tup = LookupTypeName(NULL, tn, &typmod, true);
	char	   *res;

	if (tup == NULL)
		return TypeNameToString(tn);
	res = format_type_with_typemod(typeTypeId(tup), typmod);
	ReleaseSysCache(tup);
	return res;
}

/* Trimmed text of [start, end) of the source. */
static char *
slice(const char *src, int start, int end)
{
	int			len = strlen(src);

	if (start < 0 || start > len)
		return NULL;
	if (end < 0 || end > len)
		end = len;
	while (start < end && isspace((unsigned char) src[start]))
		start++;
	while (end > start && (isspace((unsigned char) src[end - 1]) || src[end - 1] == ';'))
		end--;
	return pnstrdup(src + start, end - start);
}

static const char *
contype_name(ConstrType t)
{
	switch (t)
	{
		case CONSTR_FOREIGN:
			return "foreign_key";
		case CONSTR_CHECK:
			return "check";
		case CONSTR_UNIQUE:
			return "unique";
		case CONSTR_PRIMARY:
			return "primary_key";
		case CONSTR_EXCLUSION:
			return "exclusion";
		case CONSTR_NOTNULL:
			return "not_null";
		case CONSTR_DEFAULT:
			return "default";
		default:
			return "other";
	}
}

static char *
key_list(List *keys)
{
	StringInfoData buf;
	ListCell   *lc;

	if (keys == NIL)
		return NULL;
	initStringInfo(&buf);
	foreach(lc, keys)
	{
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, quote_identifier(strVal(lfirst(lc))));
	}
	return buf.data;
}

/*
 * ADD COLUMN: the type, NOT NULL, and the default expression's text.  The
 * raw tree keeps where each constraint starts, not where it ends, so the
 * default runs to the next constraint of the column or to the end of the
 * statement (the caller only relies on this for single-command statements).
 */
static void
describe_column(StmtRow *r, ColumnDef *col, const char *src, int stmt_end)
{
	ListCell   *lc;

	r->column = col->colname;
	if (col->typeName)
		r->type_name = type_text(col->typeName);
	r->not_null = col->is_not_null;
	foreach(lc, col->constraints)
	{
		Constraint *c = lfirst_node(Constraint, lc);

		if (c->contype == CONSTR_NOTNULL)
			r->not_null = true;
		else if (c->contype == CONSTR_DEFAULT && c->raw_expr)
		{
			int			end = stmt_end;
			ListCell   *lc2;

			for_each_cell(lc2, col->constraints, lnext(col->constraints, lc))
			{
				Constraint *n = lfirst_node(Constraint, lc2);

				if (n->location > c->location)
				{
					end = n->location;
					break;
				}
			}
			r->expr = slice(src, exprLocation(c->raw_expr), end);
			r->contype = "default";
		}
		else if (r->contype == NULL)
			r->contype = contype_name(c->contype);
	}
}

static void
describe_alter_table(StmtRow *r, AlterTableStmt *stmt, const char *src, int stmt_end)
{
	AlterTableCmd *cmd;

	r->kind = "alter_table";
	r->rv = stmt->relation;
	r->subcommands = list_length(stmt->cmds);
	if (r->subcommands != 1 || stmt->objtype != OBJECT_TABLE)
		return;
	cmd = linitial_node(AlterTableCmd, stmt->cmds);
	r->column = cmd->name;
	switch (cmd->subtype)
	{
		case AT_AddColumn:
			r->kind = "add_column";
			describe_column(r, castNode(ColumnDef, cmd->def), src, stmt_end);
			break;
		case AT_DropColumn:
			r->kind = "drop_column";
			break;
		case AT_AlterColumnType:
			{
				ColumnDef  *def = castNode(ColumnDef, cmd->def);

				r->kind = "alter_type";
				r->type_name = type_text(def->typeName);
				if (def->raw_default)
					r->expr = slice(src, exprLocation(def->raw_default), stmt_end);
				break;
			}
		case AT_SetNotNull:
			r->kind = "set_not_null";
			break;
		case AT_DropNotNull:
			r->kind = "drop_not_null";
			break;
		case AT_ColumnDefault:
			r->kind = cmd->def ? "set_default" : "drop_default";
			if (cmd->def)
				r->expr = slice(src, exprLocation(cmd->def), stmt_end);
			break;
		case AT_AddConstraint:
			{
				Constraint *c = castNode(Constraint, cmd->def);

				r->kind = "add_constraint";
				r->contype = contype_name(c->contype);
				r->conname = c->conname;
				r->not_valid = c->skip_validation;
				r->keys = key_list(c->contype == CONSTR_FOREIGN ? c->fk_attrs : c->keys);
				if (c->contype == CONSTR_CHECK && c->raw_expr)
					r->keys = NULL;
				r->expr = slice(src, c->location, stmt_end);
				if (c->indexname)
					r->new_name = c->indexname;
				break;
			}
		case AT_ValidateConstraint:
			r->kind = "validate_constraint";
			break;
		case AT_DropConstraint:
			r->kind = "drop_constraint";
			break;
		default:
			break;
	}
}

static void
describe(StmtRow *r, Node *n, const char *src, int stmt_end)
{
	memset(r, 0, sizeof(*r));
	r->kind = "other";
	switch (nodeTag(n))
	{
		case T_AlterTableStmt:
			describe_alter_table(r, (AlterTableStmt *) n, src, stmt_end);
			break;
		case T_IndexStmt:
			{
				IndexStmt  *s = (IndexStmt *) n;

				r->kind = "create_index";
				r->rv = s->relation;
				r->new_name = s->idxname;
				r->concurrently = s->concurrent;
				r->contype = s->unique ? "unique" : NULL;
				{
					StringInfoData k;
					ListCell   *lc;

					initStringInfo(&k);
					foreach(lc, s->indexParams)
					{
						IndexElem  *e = lfirst_node(IndexElem, lc);

						if (k.len > 0)
							appendStringInfoChar(&k, '_');
						appendStringInfoString(&k, e->name ? e->name : "expr");
					}
					r->keys = k.data;
				}
				break;
			}
		case T_DropStmt:
			{
				DropStmt   *s = (DropStmt *) n;

				if (s->removeType == OBJECT_INDEX)
				{
					r->kind = "drop_index";
					r->concurrently = s->concurrent;
					r->subcommands = list_length(s->objects);
					if (list_length(s->objects) == 1)
						r->rv = makeRangeVarFromNameList(linitial(s->objects));
				}
				else if (s->removeType == OBJECT_TABLE)
					r->kind = "drop_table";
				break;
			}
		case T_RenameStmt:
			{
				RenameStmt *s = (RenameStmt *) n;

				if (s->renameType == OBJECT_COLUMN && s->relationType == OBJECT_TABLE)
				{
					r->kind = "rename_column";
					r->rv = s->relation;
					r->column = s->subname;
					r->new_name = s->newname;
				}
				else if (s->renameType == OBJECT_TABLE)
				{
					r->kind = "rename_table";
					r->rv = s->relation;
					r->new_name = s->newname;
				}
				break;
			}
		case T_CreateStmt:
			r->kind = "create_table";
			r->rv = ((CreateStmt *) n)->relation;
			break;
		case T_VacuumStmt:
			{
				VacuumStmt *s = (VacuumStmt *) n;
				ListCell   *lc;

				r->kind = s->is_vacuumcmd ? "vacuum" : "analyze";
				foreach(lc, s->options)
				{
					DefElem    *d = lfirst_node(DefElem, lc);

					if (strcmp(d->defname, "full") == 0 && defGetBoolean(d))
						r->kind = "vacuum_full";
				}
				if (list_length(s->rels) == 1)
					r->rv = linitial_node(VacuumRelation, s->rels)->relation;
				r->subcommands = list_length(s->rels);
				break;
			}
		case T_ClusterStmt:
			r->kind = "cluster";
			r->rv = ((ClusterStmt *) n)->relation;
			break;
		case T_TransactionStmt:
			r->kind = "transaction_control";
			r->transaction_control = true;
			break;
		case T_CallStmt:
			r->kind = "call";
			break;
		case T_DoStmt:
			r->kind = "do";
			break;
		case T_InsertStmt:
		case T_UpdateStmt:
		case T_DeleteStmt:
		case T_MergeStmt:
		case T_SelectStmt:
			r->kind = "dml";
			break;
		case T_VariableSetStmt:
			r->kind = "set";
			break;
		default:
			break;
	}
}

/* A syntax error points into the migration text, not the calling query. */
static void
migration_parse_error_callback(void *arg)
{
	const char *sql = (const char *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(sql);
	}
	errhint("The migration script must be SQL statements separated by semicolons.");
}

Datum
architect_migration_statements(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	List	   *raw;
	ListCell   *lc;
	int			no = 0;
	ErrorContextCallback errcb;

	InitMaterializedSRF(fcinfo, 0);

	errcb.callback = migration_parse_error_callback;
	errcb.arg = sql;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	error_context_stack = errcb.previous;

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		int			end = rs->stmt_len > 0 ? rs->stmt_location + rs->stmt_len : -1;
		StmtRow		r;
		Datum		values[17];
		bool		nulls[17];
		Oid			relid = InvalidOid;
		int			i;

		no++;
		describe(&r, rs->stmt, sql, end);
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(no);
		values[1] = CStringGetTextDatum(slice(sql, rs->stmt_location, end));
		values[2] = CStringGetTextDatum(GetCommandTagName(CreateCommandTag(rs->stmt)));
		values[3] = CStringGetTextDatum(r.kind);
		if (r.rv)
		{
			values[4] = CStringGetTextDatum(quote_qualified_identifier(r.rv->schemaname,
																	   r.rv->relname));
			relid = RangeVarGetRelid(r.rv, NoLock, true);
		}
		else
			nulls[4] = true;
		values[5] = ObjectIdGetDatum(relid);
		nulls[5] = !OidIsValid(relid);
		values[6] = Int32GetDatum(r.subcommands);
		i = 7;
#define PUT_TEXT(s) do { if (s) values[i] = CStringGetTextDatum(s); else nulls[i] = true; i++; } while (0)
		PUT_TEXT(r.column);
		PUT_TEXT(r.new_name);
		PUT_TEXT(r.type_name);
		PUT_TEXT(r.expr);
		values[i++] = BoolGetDatum(r.not_null);
		PUT_TEXT(r.contype);
		PUT_TEXT(r.conname);
		PUT_TEXT(r.keys);
		values[i++] = BoolGetDatum(r.concurrently);
		values[i++] = BoolGetDatum(r.not_valid);
#undef PUT_TEXT
		Assert(i == 17);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------- architect.validate_fragment ---------- */

/*
 * A fragment is accepted only if it parses on its own as exactly what it
 * claims to be: one expression ('expression'), or the SET list of one
 * UPDATE ('set_clause').  Then wrapping it in parentheses (expression) or
 * placing it after SET cannot change the shape of the statement it is
 * spliced into: "x) OR (true" or "a = 1; DROP TABLE t" fail here.
 * Semantic checks (columns, types) are left to parse analysis of the
 * composed statement, which the caller runs under EXPLAIN.
 */
static void
fragment_error(const char *kind, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s is not a single SQL %s", kind, what),
			 errhint("Pass one expression (for a WHERE clause) or one list of column = expression assignments (for a SET clause), without a semicolon.")));
}

Datum
architect_validate_fragment(PG_FUNCTION_ARGS)
{
	char	   *frag = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(1));
	StringInfoData buf;
	List	   *raw = NIL;
	MemoryContext oldcxt = CurrentMemoryContext;
	bool		ok;

	initStringInfo(&buf);
	if (strcmp(kind, "expression") == 0)
		appendStringInfo(&buf, "SELECT %s\n", frag);
	else if (strcmp(kind, "set_clause") == 0)
		appendStringInfo(&buf, "UPDATE pg_catalog.pg_class SET %s\n", frag);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown fragment kind \"%s\"", kind),
				 errhint("Use 'expression' or 'set_clause'.")));

	PG_TRY();
	{
		raw = raw_parser(buf.data, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s does not parse: %s", kind, edata->message),
				 errhint("Pass one expression (for a WHERE clause) or one list of column = expression assignments (for a SET clause).")));
	}
	PG_END_TRY();

	if (list_length(raw) != 1)
		fragment_error(kind, strcmp(kind, "expression") == 0 ? "expression" : "SET list");

	if (strcmp(kind, "expression") == 0)
	{
		SelectStmt *s = (SelectStmt *) linitial_node(RawStmt, raw)->stmt;

		ok = IsA(s, SelectStmt) && s->op == SETOP_NONE &&
			list_length(s->targetList) == 1 && s->fromClause == NIL &&
			s->whereClause == NULL && s->groupClause == NIL &&
			s->havingClause == NULL && s->sortClause == NIL &&
			s->limitCount == NULL && s->limitOffset == NULL &&
			s->lockingClause == NIL && s->withClause == NULL &&
			s->intoClause == NULL && s->distinctClause == NIL &&
			s->windowClause == NIL && s->valuesLists == NIL &&
			linitial_node(ResTarget, s->targetList)->name == NULL;
		if (!ok)
			fragment_error(kind, "expression");
	}
	else
	{
		UpdateStmt *u = (UpdateStmt *) linitial_node(RawStmt, raw)->stmt;

		ok = IsA(u, UpdateStmt) && u->whereClause == NULL && u->fromClause == NIL &&
			u->returningList == NIL && u->withClause == NULL && u->targetList != NIL;
		if (!ok)
			fragment_error(kind, "SET list");
	}
	PG_RETURN_VOID();
}

/* ---------- architect._arm_statement_timeout ---------- */

/*
 * statement_timeout is armed when a top-level statement starts, so setting
 * it inside architect.rehearse() would not bound the statements rehearse
 * runs.  This arms the same timer (its expiry cancels the running query
 * with "canceling statement due to statement timeout") for the next
 * statement rehearse executes; 0 disarms it.  Core disarms it at the end of
 * the top-level statement in any case.  It can only cancel the caller's own
 * query.
 */
PG_FUNCTION_INFO_V1(architect_arm_statement_timeout);

Datum
architect_arm_statement_timeout(PG_FUNCTION_ARGS)
{
	int32		ms = PG_GETARG_INT32(0);

	if (ms > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, ms);
	else if (get_timeout_active(STATEMENT_TIMEOUT))
		disable_timeout(STATEMENT_TIMEOUT, false);
	PG_RETURN_VOID();
}
