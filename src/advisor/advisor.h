/*-------------------------------------------------------------------------
 *
 * advisor.h
 *		Shared declarations of the index advisor (advisor.c,
 *		advisor_candidates.c).  Backend-local, no shared state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ADVISOR_H
#define ADVISOR_H

#include "nodes/execnodes.h"
#include "whatif/whatif.h"

/* a probe returning more than this fraction of the table is useless */
#define ADVISOR_MAX_PROBE_FRACTION	0.05
/* most INCLUDE columns of a covering candidate */
#define ADVISOR_MAX_INCLUDE			3
/* avg width (bytes) above which a hash index is considered */
#define ADVISOR_HASH_MIN_WIDTH		24
/* rows below which brin is not considered */
#define ADVISOR_BRIN_MIN_TUPLES		100000
/* |pg_stats.correlation| from which brin is considered */
#define ADVISOR_BRIN_MIN_CORRELATION	0.9
/* extension steps stop at this many key columns */
#define ADVISOR_MAX_EXTEND_KEYS		4

/* flags of a sort key (RelUse.sort_desc, advisor_index_sql's desc list) */
#define ADVISOR_DESC				0x01
#define ADVISOR_NULLS_FIRST			0x02

/* "col = constant" on a table, for partial indexes */
typedef struct ConstPred
{
	AttrNumber	attno;
	double		selectivity;
	char	   *sql;			/* deparsed, columns unqualified */
} ConstPred;

/* what one statement asks of one table */
typedef struct RelUse
{
	Oid			relid;
	double		tuples;
	int			natts;			/* columns of the table */
	List	   *eq;				/* int attnos */
	List	   *range;
	List	   *join;
	List	   *sort;			/* ORDER BY attnos on this table */
	List	   *sort_desc;		/* ADVISOR_DESC | ADVISOR_NULLS_FIRST per key */
	bool		has_limit;
	List	   *consts;			/* ConstPred */
	List	   *exprs;			/* String: expressions compared to constants */
	Bitmapset  *needed;			/* attnos - FirstLowInvalidHeapAttributeNumber */
	List	   *gin;			/* CandSpec: gin candidates, some unvalidated */
	List	   *orpairs;		/* int pairs (a, b): "a op c1 OR b op c2" */
	List	   *specs;			/* CandSpec, filled by the advisor */
} RelUse;

/* one candidate, before it becomes a HypoIndex */
typedef struct CandSpec
{
	Oid			relid;
	char	   *sql;			/* CREATE INDEX ON ... */
	const char *origin;			/* why it was generated */
	HypoIndex  *h;				/* built while the statement is prepared */
	/*
	 * Recommended without what-if validation: the operator class needs an
	 * extension that is not installed (so no plan can use it).  sql is then
	 * the CREATE EXTENSION and CREATE INDEX to run, and never planned.
	 */
	bool		unvalidated;
	char	   *keytext;		/* the key column as DDL text */
	List	   *queryids;		/* unvalidated: int64 * of the statements */
	char	   *pair_sql;		/* BitmapOr: the other arm's index, costed with this one */
} CandSpec;

/* advisor.c: GUCs */
extern int	advisor_storage_budget_mb;
extern int	advisor_max_indexes_per_table;
extern double advisor_min_benefit_pct;

/* advisor_candidates.c */
extern void advisor_install_hooks(void);
extern PlannedStmt *advisor_probe(WhatifStmt *s, List **uses);
extern List *advisor_candidates(RelUse *use, List *existing);
extern List *advisor_existing_keys(Oid relid);
extern bool advisor_expr_index_exists(Oid relid, const char *expr);
extern bool advisor_prefix_of_existing(List *keys, List *existing);
extern char *advisor_index_sql(Oid relid, const char *method, List *keys,
							   List *desc, List *include, const char *pred);
extern double advisor_ndistinct(Oid relid, AttrNumber attno, double tuples);
extern void advisor_put_unvalidated(ReturnSetInfo *rsinfo, CandSpec *spec,
									List *queryids);

/* advisor_identity.c: planning a captured statement as the role that ran it */
typedef struct AsRole
{
	bool		active;
	Oid			save_userid;
	int			save_sec_context;
	Oid			save_planning_as;
	int			nestlevel;
} AsRole;

extern void advisor_install_identity_hooks(void);
extern void advisor_as_role_enter(AsRole *r, Oid role);
extern void advisor_as_role_leave(AsRole *r, bool error);
extern void advisor_check_foreign_code(Query *query, Oid as);

#endif							/* ADVISOR_H */
