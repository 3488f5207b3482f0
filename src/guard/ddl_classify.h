/*-------------------------------------------------------------------------
 *
 * ddl_classify.h
 *		What a DDL statement will do to the tables it touches, decided
 *		before it runs: lock level, rewrite, full scan, what it blocks,
 *		relation size, risk, and a safer way to get the same result.
 *
 * Shared by the live guard (ProcessUtility_hook in ddl_guard.c) and the
 * dry run architect.check_ddl(), so that both give the same answer for the
 * same statement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DDL_CLASSIFY_H
#define DDL_CLASSIFY_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "storage/lockdefs.h"

typedef enum DdlRisk
{
	DDL_RISK_NONE = 0,
	DDL_RISK_LOW,
	DDL_RISK_MEDIUM,
	DDL_RISK_HIGH
} DdlRisk;

/* One (statement, relation) verdict. */
typedef struct DdlFinding
{
	char	   *relation;		/* quoted qualified name; NULL = none/all */
	Oid			relid;			/* InvalidOid if it does not exist (yet) */
	LOCKMODE	lockmode;		/* NoLock: no lock on an existing table */
	bool		rewrites;		/* table (and its indexes) rewritten */
	bool		scans;			/* every row read while the lock is held */
	bool		blocks_reads;
	bool		blocks_writes;
	int64		bytes;			/* heap size; -1 unknown */
	DdlRisk		risk;
	bool		is_new;			/* created in this transaction / text */
	bool		is_temp;		/* temporary: only this session sees it */
	bool		missing;		/* named relation does not exist */
	bool		whole_database; /* VACUUM FULL / CLUSTER without a table */
	bool		no_writes;		/* materialized view: DML impossible anyway */
	StringInfoData reason;
	StringInfoData safer;
} DdlFinding;

/*
 * State carried across the statements of one check_ddl() text, so that a
 * migration that creates a table and then indexes it, or adds a CHECK
 * (c IS NOT NULL) NOT VALID, validates it and then sets NOT NULL, is judged
 * the way PostgreSQL will run it.  The live guard passes NULL.
 */
typedef struct DdlTextState
{
	List	   *created;		/* RangeVar * of tables created so far */
	List	   *checks;			/* DdlTextCheck * */
	bool		lock_timeout;	/* SET lock_timeout to non-zero seen */
} DdlTextState;

/* GUC in ddl_guard.c: tables smaller than this are exempt (kB). */
extern int	ddl_guard_min_size_kb;

extern List *ddl_classify(Node *parsetree, DdlTextState *state);
extern bool ddl_is_classified(Node *parsetree);
extern const char *ddl_risk_name(DdlRisk risk);
extern const char *ddl_lock_name(LOCKMODE mode);

#endif							/* DDL_CLASSIFY_H */
