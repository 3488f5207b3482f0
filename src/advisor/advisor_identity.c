/*-------------------------------------------------------------------------
 *
 * advisor_identity.c
 *		Whose identity a captured statement is planned under, and what code
 *		that planning may run.
 *
 * Why.  Planning runs code: eval_const_expressions calls IMMUTABLE
 * functions with constant arguments, inlines SQL functions, calls
 * estimators.  A statement text captured from role A and planned by the
 * advisor under the identity of the role that reads the advice (a DBA, the
 * nightly report, a pg_monitor member) would run A's code with the
 * reader's privileges: a privilege escalation.  pg_stat_statements never
 * plans stored texts; we must, so we do it the way PostgreSQL runs
 * maintenance as a table's owner since CVE-2022-1552 (vacuum.c, analyze.c,
 * matview.c): under the identity of the role that ran the statement (the
 * userid capture recorded), inside a security-restricted operation, with
 * its own GUC nest level so that nothing the code sets survives.
 *
 * The rule, per captured statement:
 *	- the statement's role no longer exists: not planned;
 *	- the analysed and rewritten statement (views expanded, defaults added)
 *	  names a function or operator that is neither built in nor owned by the
 *	  statement's role nor by a superuser: not planned (whoever owns it can
 *	  redefine it after capture, so planning it as the statement's role
 *	  would run its owner's current code under another identity);
 *	- otherwise planned as the statement's role, in a security-restricted
 *	  operation, and while that lasts a function-manager hook refuses to
 *	  call any function that the same test rejects (the backstop for what
 *	  the static walk cannot see: bodies of inlined SQL functions,
 *	  functions called by the statement's own functions).
 * Functions owned by a superuser are allowed: a superuser can already act
 * as any role, so running its code under another role's identity grants it
 * nothing.
 *
 * Statement texts the caller gives (advise_workload(queries), advise_query,
 * whatif) are planned under the caller's own identity, like EXPLAIN: the
 * caller chose to plan them.  The identity of a captured statement never
 * comes from SQL arguments, only from the capture store.
 *
 * Backend-local state only (the active identity); no locks.  Called by
 * advisor.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "advisor/advisor.h"

/* The role a captured statement is being planned as, or InvalidOid. */
static Oid	planning_as = InvalidOid;

static needs_fmgr_hook_type prev_needs_fmgr_hook = NULL;
static fmgr_hook_type prev_fmgr_hook = NULL;

static const char *
role_name(Oid role)
{
	char	   *name = GetUserNameFromId(role, true);

	return name ? name : "(dropped)";
}

/* Owner of a function or operator, InvalidOid if it is gone. */
static Oid
object_owner(int cacheid, Oid objid)
{
	HeapTuple	tup = SearchSysCache1(cacheid, ObjectIdGetDatum(objid));
	Oid			owner = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		if (cacheid == PROCOID)
			owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
		else
			owner = ((Form_pg_operator) GETSTRUCT(tup))->oprowner;
		ReleaseSysCache(tup);
	}
	return owner;
}

/*
 * May code of this function (or operator) run under role "as"?  Built-in
 * objects always; others if owned by "as" or by a superuser.
 */
static bool
trusted_for(int cacheid, Oid objid, Oid as)
{
	Oid			owner;

	if (objid < FirstNormalObjectId)
		return true;
	owner = object_owner(cacheid, objid);
	return OidIsValid(owner) && (owner == as || superuser_arg(owner));
}

typedef struct ForeignCtx
{
	Oid			as;
	Oid			found_func;
	Oid			found_oper;
} ForeignCtx;

static bool
foreign_func_checker(Oid func_id, void *context)
{
	ForeignCtx *cx = (ForeignCtx *) context;

	if (trusted_for(PROCOID, func_id, cx->as))
		return false;
	cx->found_func = func_id;
	return true;
}

static bool
foreign_code_walker(Node *node, void *context)
{
	ForeignCtx *cx = (ForeignCtx *) context;
	Oid			opno = InvalidOid;

	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, foreign_code_walker, context, 0);

	/* functions, including those behind operators and I/O coercions */
	if (check_functions_in_node(node, foreign_func_checker, context))
		return true;

	/* the operators themselves: their owner can change their estimators */
	if (IsA(node, OpExpr) || IsA(node, DistinctExpr) || IsA(node, NullIfExpr))
		opno = ((OpExpr *) node)->opno;
	else if (IsA(node, ScalarArrayOpExpr))
		opno = ((ScalarArrayOpExpr *) node)->opno;
	if (OidIsValid(opno) && !trusted_for(OPEROID, opno, cx->as))
	{
		cx->found_oper = opno;
		return true;
	}
	if (IsA(node, RowCompareExpr))
	{
		ListCell   *lc;

		foreach(lc, ((RowCompareExpr *) node)->opnos)
			if (!trusted_for(OPEROID, lfirst_oid(lc), cx->as))
			{
				cx->found_oper = lfirst_oid(lc);
				return true;
			}
	}
	return expression_tree_walker(node, foreign_code_walker, context);
}

/*
 * Raise ERRCODE_INSUFFICIENT_PRIVILEGE if the analysed statement names a
 * function or operator that may not run as role "as" (see the header).
 */
void
advisor_check_foreign_code(Query *query, Oid as)
{
	ForeignCtx	cx;

	cx.as = as;
	cx.found_func = InvalidOid;
	cx.found_oper = InvalidOid;
	if (!foreign_code_walker((Node *) query, &cx))
		return;
	if (OidIsValid(cx.found_func))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("not planned: the statement of role %s calls function %s owned by role %s",
						role_name(as), format_procedure(cx.found_func),
						role_name(object_owner(PROCOID, cx.found_func)))));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("not planned: the statement of role %s uses operator %s owned by role %s",
					role_name(as), format_operator(cx.found_oper),
					role_name(object_owner(OPEROID, cx.found_oper)))));
}

/* ---------- switching identity ---------- */

void
advisor_as_role_enter(AsRole *r, Oid role)
{
	r->active = OidIsValid(role);
	if (!r->active)
		return;
	GetUserIdAndSecContext(&r->save_userid, &r->save_sec_context);
	r->save_planning_as = planning_as;
	SetUserIdAndSecContext(role, r->save_sec_context | SECURITY_RESTRICTED_OPERATION);
	planning_as = role;
	r->nestlevel = NewGUCNestLevel();
}

void
advisor_as_role_leave(AsRole *r, bool error)
{
	if (!r->active)
		return;
	/* on error, the (sub)transaction abort unwinds the GUC nest level */
	if (!error)
		AtEOXact_GUC(false, r->nestlevel);
	planning_as = r->save_planning_as;
	SetUserIdAndSecContext(r->save_userid, r->save_sec_context);
	r->active = false;
}

/* ---------- the function-manager backstop ---------- */

static bool
advisor_needs_fmgr_hook(Oid fn_oid)
{
	if (prev_needs_fmgr_hook && prev_needs_fmgr_hook(fn_oid))
		return true;
	return OidIsValid(planning_as) && !trusted_for(PROCOID, fn_oid, planning_as);
}

static void
advisor_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	if (event == FHET_START && OidIsValid(planning_as) &&
		!trusted_for(PROCOID, flinfo->fn_oid, planning_as))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("not planned: planning the statement of role %s would call function %s owned by another role",
						role_name(planning_as), format_procedure(flinfo->fn_oid))));
	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);
}

/* From advisor_init: chained after any previous hooks. */
void
advisor_install_identity_hooks(void)
{
	prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = advisor_needs_fmgr_hook;
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = advisor_fmgr_hook;
}
