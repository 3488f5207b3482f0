/*-------------------------------------------------------------------------
 *
 * capture.h
 *		Shared declarations of the capture path: the events that cross the
 *		rings, the aggregated entries, the shared capture state, the GUCs.
 *
 * Data path:  backend hooks (capture_hooks.c) --ring_publish--> exec ring / text
 * ring --capture_drain (collector.c)--> statement and plan hash tables with
 * texts in a DSA area (store.c) --> SQL views (capture_views.c).
 *
 * Locking:
 *	- backends only publish into the rings (lock-free, ring.h) and read the
 *	  "known texts" filter (atomics); they never touch the tables;
 *	- ARCHITECT_LOCK_CONSUMER serialises ring consumers (the collector, or
 *	  a reader that drains before reading so its view is fresh);
 *	- ARCHITECT_LOCK_STATS protects the hash tables and the DSA texts:
 *	  exclusive to aggregate or evict, shared to read.
 *	  Lock order: CONSUMER before STATS.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCHITECT_CAPTURE_H
#define ARCHITECT_CAPTURE_H

#include "postgres.h"

#include "access/attnum.h"
#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "utils/dsa.h"

#include "capture/histogram.h"
#include "capture/ring.h"

typedef enum CaptureTrack
{
	CAPTURE_TRACK_NONE,
	CAPTURE_TRACK_TOP,
	CAPTURE_TRACK_ALL
} CaptureTrack;

typedef enum CaptureEventKind
{
	EVENT_EXECUTION = 1,		/* a statement finished */
	EVENT_ERROR,				/* a statement was aborted by an error */
	EVENT_QUERY_TEXT,			/* text of a statement not yet known */
	EVENT_PLAN_TEXT				/* EXPLAIN of a plan not yet known */
} CaptureEventKind;

/* What one execution costs us to record: this struct, copied once. */
typedef struct CaptureEvent
{
	uint8		kind;			/* EVENT_EXECUTION or EVENT_ERROR */
	bool		toplevel;
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		planid;
	double		elapsed_us;
	uint64		rows;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		temp_blks_written;
	uint64		wal_bytes;
	TimestampTz finished_at;
} CaptureEvent;

/* Texts travel through their own ring of large slots (rare events). */
#define TEXT_EVENT_MAX		(16 * 1024 - 64)
#define TEXT_RING_SLOTS		128

typedef struct TextEvent
{
	uint8		kind;			/* EVENT_QUERY_TEXT or EVENT_PLAN_TEXT */
	bool		toplevel;
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		planid;
	int32		len;			/* bytes of text, not counting the NUL */
	char		text[TEXT_EVENT_MAX];
} TextEvent;

/*
 * Scan observations: what one sampled execution did on one base relation,
 * join or sort (scan_capture.c).  Predicates are recorded by shape only:
 * column, operator, kind of compared value — never the value itself.
 */
#define SCAN_MAX_PREDS		8

typedef enum ScanKind
{
	SCAN_SEQ = 1,
	SCAN_INDEX,
	SCAN_INDEX_ONLY,
	SCAN_BITMAP,
	SCAN_JOIN,
	SCAN_SORT
} ScanKind;

typedef enum PredShape
{
	PRED_OP = 1,				/* column <op> value */
	PRED_IN_LIST,				/* column = ANY (array) */
	PRED_IS_NULL,
	PRED_IS_NOT_NULL,
	PRED_BOOL,					/* a boolean column used as a condition */
	PRED_OTHER,					/* OR, NOT, or an expression we do not split */
	PRED_SORTKEY				/* a sort key (opno = sort operator) */
} PredShape;

typedef enum ValueKind
{
	VALUE_NONE = 0,
	VALUE_CONST,				/* a constant in the query text */
	VALUE_PARAM,				/* a $n parameter */
	VALUE_OUTER,				/* a value from another relation (join) */
	VALUE_EXPR					/* a computed expression */
} ValueKind;

#define PRED_SRC_FILTER		0x01	/* checked after the row was fetched */
#define PRED_SRC_INDEX		0x02	/* an index condition */
#define PRED_SRC_JOIN		0x04	/* a join clause */
#define PRED_COMMUTED		0x08	/* the column was on the operator's right */
#define PRED_LIKE_PREFIX	0x10	/* constant pattern starts with a literal */
#define PRED_NULLS_FIRST	0x20	/* sort key: NULLS FIRST */

typedef struct ScanPredicate
{
	AttrNumber	attno;			/* column of relid (0: not a plain column) */
	AttrNumber	other_attno;	/* join: column of other_relid */
	uint8		shape;			/* PredShape */
	uint8		value_kind;		/* ValueKind */
	uint8		flags;			/* PRED_* */
	uint8		pad;
	Oid			opno;			/* operator, or sort operator */
	Oid			funcid;			/* function over the column: lower(col) */
} ScanPredicate;

typedef struct ScanEvent
{
	uint8		kind;			/* ScanKind */
	bool		limit_above;	/* a LIMIT sat above this sort or scan */
	uint8		npreds;
	bool		truncated;		/* more predicates than SCAN_MAX_PREDS */
	uint8		join_method;	/* 'n'ested loop, 'h'ash, 'm'erge */
	Oid			dbid;
	Oid			relid;			/* partitions are mapped to their root */
	Oid			indexid;
	Oid			other_relid;	/* join: the other side */
	uint64		queryid;
	double		loops;
	double		rows_returned;
	double		rows_removed;	/* by the filter or join filter */
	double		rows_rechecked_away;	/* by an index recheck */
	TimestampTz seen_at;
	ScanPredicate preds[SCAN_MAX_PREDS];
} ScanEvent;

typedef struct ScanKey
{
	Oid			dbid;
	Oid			relid;
	uint64		queryid;
	uint64		shape;			/* hash of everything in the event but counts */
} ScanKey;

typedef struct ScanEntry
{
	ScanKey		key;			/* hash key, must be first */
	ScanEvent	sample;			/* the shape (counts in it are unused) */
	int64		executions;
	double		loops;
	double		rows_returned;
	double		rows_removed;
	double		rows_rechecked_away;
	TimestampTz first_seen;
	TimestampTz last_seen;
} ScanEntry;

/* Aggregated per (user, database, query id, toplevel), as pg_stat_statements. */
typedef struct StatementKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	bool		toplevel;
} StatementKey;

typedef struct StatementEntry
{
	StatementKey key;			/* hash key, must be first */
	int64		calls;
	int64		errors;
	int64		rows;
	double		total_ms;
	double		min_ms;
	double		max_ms;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		temp_blks_written;
	uint64		wal_bytes;
	TimestampTz first_seen;
	TimestampTz last_seen;
	dsa_pointer text;			/* query text, or InvalidDsaPointer */
	int32		text_len;
	LatencyHistogram hist;
} StatementEntry;

/* Aggregated per (database, query id, plan id). */
typedef struct PlanKey
{
	Oid			dbid;
	uint64		queryid;
	uint64		planid;
} PlanKey;

typedef struct PlanEntry
{
	PlanKey		key;			/* hash key, must be first */
	int64		calls;
	int64		errors;
	double		total_ms;
	double		min_ms;
	double		max_ms;
	TimestampTz first_seen;
	TimestampTz last_seen;
	dsa_pointer text;			/* EXPLAIN text, or InvalidDsaPointer */
	int32		text_len;
	LatencyHistogram hist;
} PlanEntry;

typedef struct CaptureShared
{
	int			dsa_tranche;
	bool		loaded;			/* saved file read (or found absent) */
	TimestampTz last_drain;		/* when a consumer last emptied the rings */
	TimestampTz stats_since;	/* last reset */
	pg_atomic_uint64 statements_evicted;
	pg_atomic_uint64 plans_evicted;
	pg_atomic_uint64 texts_discarded; /* text memory full or entry gone */
	pg_atomic_uint64 events_aggregated;
	pg_atomic_uint32 collector_pid;
	uint64		known_mask;		/* known-text filter: slots - 1 */
	pg_atomic_uint64 *known;	/* filter slots, see store.c */
	pg_atomic_uint32 known_generation;	/* bumped when the filter is rebuilt */
	pg_atomic_uint64 scans_evicted;
	pg_atomic_uint64 executions_sampled;
	EventRing  *exec_ring;
	EventRing  *text_ring;
	EventRing  *scan_ring;
	void	   *dsa_place;		/* in-place DSA area for texts */
	Size		dsa_place_size;
} CaptureShared;

/* GUCs (capture.c) */
extern int	capture_max_statements;
extern int	capture_max_plans;
extern int	capture_ring_size;
extern int	capture_track;
extern bool capture_save;
extern int	capture_collector_naptime_ms;
extern int	capture_text_memory_kb;
extern int	capture_max_scans;
extern double capture_sample_rate;

extern CaptureShared *capture_shared;

/* store.c: the aggregated tables (callers hold the locks named above) */
extern Size store_shmem_size(void);
extern void store_shmem_startup(bool found);
extern HTAB *store_statements(void);
extern HTAB *store_plans(void);
extern HTAB *store_scans(void);
extern void store_aggregate_scan(const ScanEvent *ev);
extern dsa_area *store_dsa(void);
extern void store_aggregate_event(const CaptureEvent *ev);
extern void store_attach_text(const TextEvent *ev);
extern void store_evict_if_needed(void);
extern void store_reset(void);
extern bool store_text_known(uint64 textkey);
extern uint64 store_statement_textkey(Oid userid, Oid dbid, uint64 queryid, bool toplevel);
extern uint64 store_plan_textkey(Oid dbid, uint64 queryid, uint64 planid);
extern char *store_fetch_text(dsa_pointer ptr, int32 len);
extern void store_save_file(void);
extern void store_load_file(void);

/* collector.c */
extern void collector_register(void);
extern void capture_drain(void);
extern void capture_wake_collector(void);

/* capture_hooks.c */
extern void capture_install_hooks(void);

/* scan_capture.c */
struct QueryDesc;
extern void scan_capture_record(struct QueryDesc *queryDesc);

/* plan_id.c */
struct PlannedStmt;
struct QueryDesc;
extern uint64 plan_shape_id(struct PlannedStmt *stmt);
extern char *plan_explain_text(struct QueryDesc *queryDesc);

#endif							/* ARCHITECT_CAPTURE_H */
