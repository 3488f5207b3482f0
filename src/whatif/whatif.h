/*-------------------------------------------------------------------------
 *
 * whatif.h
 *		Shared declarations of the what-if engine (hypo_index.c, whatif.c).
 *		The engine knows nothing of candidate generation: the advisor
 *		(src/advisor) builds on it, never the other way round.
 *
 * Everything here is backend-local: hypothetical indexes live in the
 * memory context of the SQL function call that defined them and are seen
 * by the planner only between hypo_push() and hypo_pop(), which callers
 * pair with PG_TRY / PG_FINALLY.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WHATIF_H
#define WHATIF_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"
#include "utils/array.h"

/* One hypothetical index. */
typedef struct HypoIndex
{
	Oid			oid;			/* fake OID, never in pg_class */
	char	   *name;			/* index name shown by EXPLAIN */
	Oid			relid;			/* the table */
	Oid			relam;			/* btree, hash, brin, gin */
	int			ncolumns;		/* key + INCLUDE columns */
	int			nkeycolumns;
	AttrNumber *indexkeys;		/* attnos, ncolumns entries; 0 = expression */
	Node	  **exprs;			/* per column: expression (varno 1) or NULL */
	List	   *indexprs;		/* the expressions in column order, varno 1 */
	Oid		   *atttype;		/* per column: type, typmod, collation */
	int32	   *atttypmod;
	Oid		   *attcoll;
	Oid		   *indexcollations;	/* per key column */
	Oid		   *opclass;
	Oid		   *opfamily;
	Oid		   *opcintype;
	bool	   *reverse_sort;
	bool	   *nulls_first;
	List	   *indpred;		/* implicit-AND, varno 1; NIL if not partial */
	char	   *pred_sql;		/* deparsed predicate for DDL, or NULL */
	/* copied from the AM's API struct when defined */
	bool		amcanorder;
	bool		amcanorderbyop;
	bool		amoptionalkey;
	bool		amsearcharray;
	bool		amsearchnulls;
	bool		amhasgettuple;
	bool		amhasgetbitmap;
	bool		amcanparallel;
	bool		amcanmarkpos;
	bool		amcanreturn;
	void		(*amcostestimate) ();
	/* size estimate */
	BlockNumber pages;
	double		tuples;
	int			tree_height;
	double		size_bytes;
} HypoIndex;

/* hypo_index.c */
extern void hypo_index_install_hooks(void);
extern List *hypo_push(List *indexes);
extern void hypo_pop(List *previous);
extern HypoIndex *hypo_from_sql(const char *sql);
extern char *hypo_ddl(HypoIndex *hypo, bool concurrently);
extern char *hypo_columns_text(HypoIndex *hypo, int col);
extern int	hypo_fillfactor;

/* hypo_gin.c */
extern void hypo_gin_estimate_size(HypoIndex *hypo, BlockNumber heap_pages);

/* whatif.c: one statement, analysed once, planned many times */
typedef struct WhatifStmt
{
	const char *text;
	Query	   *query;			/* analysed and rewritten, never planned */
	int			nparams;
	Oid		   *paramtypes;
	int64		queryid;
	Bitmapset  *updated_cols;	/* UPDATE: attnos (offset) of SET columns */
	Oid			result_relid;	/* DML target, or InvalidOid */
	bool		perms_checked;	/* ExecCheckRTPerms done */
} WhatifStmt;

extern WhatifStmt *whatif_prepare(const char *text);
extern PlannedStmt *whatif_plan(WhatifStmt *stmt, List *hypos);
extern char *whatif_explain(WhatifStmt *stmt, PlannedStmt *plan, List *hypos);
extern List *whatif_text_array(ArrayType *arr, const char *what);
extern List *whatif_used_indexes(PlannedStmt *plan);

#endif							/* WHATIF_H */
