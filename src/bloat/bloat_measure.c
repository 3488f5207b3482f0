/*-------------------------------------------------------------------------
 *
 * bloat_measure.c
 *		Tiers 2 and 3 of bloat: architect.measure_bloat(rel, sample_pages)
 *		reads pages of a heap table or a btree index and reports the space
 *		taken by live tuples, dead tuples and free space.
 *
 * Contract
 *	- Tier 3 (method 'exact': sample_pages => 0, a relation no bigger than
 *	  the requested sample, or by default one of at most 1 000 pages): every
 *	  page is read; a heap gives the same figures as
 *	  pgstattuple (live/dead by a dirty snapshot, free space by
 *	  PageGetHeapFreeSpace), a btree the same leaf density as pgstatindex.
 *	- Tier 2 (method 'sampled'): a uniform random sample of blocks
 *	  (BlockSampler, in ascending order so the kernel still sees forward
 *	  reads).  By default a pilot sample, extended when its error bound is
 *	  above 2 points (see BLOAT_TARGET_POINTS); N pages when asked.  For heaps
 *	  the visibility map is read for every block first: all-visible blocks
 *	  hold no dead tuples, so their free space comes from the free space
 *	  map without reading the block, and the sample is enlarged so that the
 *	  budget of block reads falls on the blocks that can hold dead tuples.
 *	  The two strata are extrapolated separately (post-stratified mean) and
 *	  the error bound is the 95 % half-width from the per-page variance with
 *	  the finite-population correction.  For btrees the leaf density is a
 *	  ratio estimate over the sampled leaf pages.
 *	- bloat_pct: heap = 100 * (dead + free) / table bytes, which is
 *	  pgstattuple's dead_tuple_percent + free_percent; btree =
 *	  100 * (1 - leaf density / fillfactor), leaf density as pgstatindex
 *	  computes avg_leaf_density.
 *
 * Locking: AccessShareLock on the measured relation only (for an index, on
 * the index, as pgstatindex), held to the end of the transaction; buffer
 * content locks in share mode one page at a time.  Pages are read through a
 * BAS_BULKREAD ring so a measurement does not evict the working set.
 *
 * Privilege: SELECT on the table (the index's table for an index), or
 * membership in pg_stat_scan_tables or pg_read_all_stats, checked before
 * any lock is taken.  Callers: SQL, and the architect.bloat view.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/visibilitymap.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_class_d.h"
#include "common/pg_prng.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/fsm_internals.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/sampling.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "core/compat.h"
#include "bloat/bloat.h"
#include "core/pg_architect.h"

PG_FUNCTION_INFO_V1(architect_measure_bloat);

/*
 * Default sample (sample_pages NULL): relations up to BLOAT_EXACT_PAGES are
 * read whole.  Larger ones get a pilot sample of N/20 pages (clamped to
 * BLOAT_PILOT_MIN..BLOAT_PILOT_MAX); if its 95 % error bound is above
 * BLOAT_TARGET_POINTS, more pages are drawn, as many as the pilot's
 * variance says are needed, up to a budget of max(10 % of the pages,
 * BLOAT_MIN_BUDGET).  Uniformly scattered bloat stops at the pilot (a few
 * per cent of the pages); bloat concentrated in some pages (the worst case
 * is pages either full or empty: per-page spread 0.5) needs about
 * (1.96 * 0.5 / 0.02)^2 = 2401 pages whatever the relation's size.
 */
#define BLOAT_EXACT_PAGES	1000
#define BLOAT_PILOT_MIN		100
#define BLOAT_PILOT_MAX		300
#define BLOAT_MIN_BUDGET	1000
#define BLOAT_TARGET_POINTS 2.0

/* 1.96: two-sided 95 % normal quantile. */
#define BLOAT_Z95			1.96

/* All-visible blocks actually read to learn their live-byte share. */
#define BLOAT_CALIBRATION_READS 32

/* Running sums for one stratum. */
typedef struct Stratum
{
	double		n;				/* pages observed */
	double		live;
	double		dead;
	double		free;
	double		waste;			/* dead + free */
	double		waste_sq;
} Stratum;

typedef struct Measurement
{
	bool		exact;
	BlockNumber nblocks;
	int64		pages_read;
	double		table_bytes;
	double		live_bytes;
	double		dead_bytes;
	double		free_bytes;
	double		bloat_pct;
	double		error_pct;
} Measurement;

static void
stratum_add(Stratum *s, double live, double dead, double free)
{
	s->n += 1;
	s->live += live;
	s->dead += dead;
	s->free += free;
	s->waste += dead + free;
	s->waste_sq += (dead + free) * (dead + free);
}

/* Estimated total of the waste of a stratum of N pages and its variance. */
static double
stratum_variance(const Stratum *s, double N)
{
	double		mean,
				var;

	if (s->n < 2 || N <= s->n)
		return 0.0;
	mean = s->waste / s->n;
	var = (s->waste_sq - s->n * mean * mean) / (s->n - 1);
	if (var < 0)
		var = 0;
	return N * N * var / s->n * (1.0 - s->n / N);
}

static int
pilot_sample(BlockNumber nblocks)
{
	double		n = nblocks / 20.0;

	return (int) Max(BLOAT_PILOT_MIN, Min(n, BLOAT_PILOT_MAX));
}

static int
sample_budget(BlockNumber nblocks)
{
	double		n = Max(nblocks / 10.0, BLOAT_MIN_BUDGET);

	return (int) Min(n, (double) nblocks);
}

/* Pages more to draw so that the bound reaches the target; 0 if none. */
static int
more_pages(double bound, int64 drawn, int budget)
{
	double		need;

	if (bound <= BLOAT_TARGET_POINTS || drawn >= budget || drawn <= 0)
		return 0;
	need = drawn * (bound / BLOAT_TARGET_POINTS) * (bound / BLOAT_TARGET_POINTS) * 1.1;
	return (int) Min(need - drawn, (double) (budget - drawn));
}

/*
 * Privilege like pgstattuple's default grants, but also open to whoever may
 * read the table: the figures say nothing a SELECT could not.
 */
static void
check_privilege(Oid relid, char relkind)
{
	Oid			tableid = relid;
	Oid			userid = GetUserId();

	if (has_privs_of_role(userid, ROLE_PG_STAT_SCAN_TABLES) ||
		has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS))
		return;
	if (relkind == RELKIND_INDEX)
	{
		tableid = IndexGetRelation(relid, true);
		if (!OidIsValid(tableid))
			tableid = relid;
	}
	if (pg_class_aclcheck(tableid, userid, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to measure bloat of \"%s\"",
						get_rel_name(relid)),
				 errhint("Grant SELECT on the table, or membership in pg_stat_scan_tables or pg_read_all_stats.")));
}

static void
relation_missing(Oid relid)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("relation with OID %u does not exist", relid),
			 errhint("The relation was dropped or the OID is wrong; pass a current relation name.")));
}

bool
bloat_relation_is_btree(Relation rel)
{
	return rel->rd_rel->relkind == RELKIND_INDEX &&
		rel->rd_rel->relam == BTREE_AM_OID;
}

/*
 * Open relid for bloat work: exists, caller may see it, has heap or btree
 * storage, is not another session's temp table.  AccessShareLock, kept to
 * the end of the transaction.  With wait_for_lock false, returns NULL when
 * the lock is not free right now (the view must not queue behind DDL) or
 * the relation has just been dropped (the view scans pg_class first).
 */
Relation
bloat_open_relation(Oid relid, bool wait_for_lock)
{
	char		relkind;
	Relation	rel;
	const char *name;

	relkind = get_rel_relkind(relid);
	if (relkind == '\0')
	{
		if (!wait_for_lock)
			return NULL;		/* dropped under a scan of pg_class */
		relation_missing(relid);
	}
	check_privilege(relid, relkind);

	if (wait_for_lock)
		LockRelationOid(relid, AccessShareLock);
	else if (!ConditionalLockRelationOid(relid, AccessShareLock))
		return NULL;
	rel = try_relation_open(relid, NoLock);
	if (rel == NULL)
	{
		UnlockRelationOid(relid, AccessShareLock);
		if (!wait_for_lock)
			return NULL;
		relation_missing(relid);
	}
	name = RelationGetRelationName(rel);

	switch (rel->rd_rel->relkind)
	{
		case RELKIND_RELATION:
		case RELKIND_MATVIEW:
		case RELKIND_TOASTVALUE:
			if (rel->rd_rel->relam != HEAP_TABLE_AM_OID)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("table \"%s\" does not use the heap access method", name),
						 errhint("Only heap tables and btree indexes are measured.")));
			break;
		case RELKIND_INDEX:
			if (rel->rd_rel->relam != BTREE_AM_OID)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("index \"%s\" is not a btree index", name),
						 errhint("Only btree indexes are measured; contrib pgstattuple has pgstatginindex and pgstathashindex for GIN and hash.")));
			break;
		case RELKIND_VIEW:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is a view", name),
					 errhint("A view has no storage; measure the tables it reads.")));
			break;
		case RELKIND_SEQUENCE:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is a sequence", name),
					 errhint("A sequence is one page and cannot bloat; measure tables and btree indexes.")));
			break;
		case RELKIND_PARTITIONED_TABLE:
		case RELKIND_PARTITIONED_INDEX:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is partitioned and has no storage of its own", name),
					 errhint("Measure each partition.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a table, materialized view or btree index", name),
					 errhint("Bloat is measured on heap tables, materialized views, TOAST tables and btree indexes.")));
	}

	if (RELATION_IS_OTHER_TEMP(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot measure temporary relation \"%s\" of another session", name),
				 errhint("Its pages live in the other session's local buffers; measure it from that session.")));
	return rel;
}

/*
 * One heap page, as pgstattuple counts it: tuples visible to a dirty
 * snapshot are live (t_len), the others dead (t_len); free space is
 * PageGetHeapFreeSpace.
 */
static void
heap_page(Relation rel, BlockNumber blk, BufferAccessStrategy strategy,
		  double *live, double *dead, double *free)
{
	Buffer		buf;
	Page		page;
	OffsetNumber off,
				maxoff;
	SnapshotData dirty;

	InitDirtySnapshot(dirty);
	*live = *dead = 0;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);

	*free = PGA_HEAP_PAGE_FREE(page);
	if (!PageIsNew(page))
	{
		maxoff = PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
		{
			ItemId		lp = PageGetItemId(page, off);
			HeapTupleData tup;

			if (!ItemIdIsNormal(lp))
				continue;
			tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
			tup.t_len = ItemIdGetLength(lp);
			tup.t_tableOid = RelationGetRelid(rel);
			ItemPointerSet(&tup.t_self, blk, off);
			if (HeapTupleSatisfiesVisibility(&tup, &dirty, buf))
				*live += tup.t_len;
			else
				*dead += tup.t_len;
		}
	}
	UnlockReleaseBuffer(buf);
}

/* State of a sampled heap measurement across its passes. */
typedef struct HeapSample
{
	Relation	rel;
	BufferAccessStrategy strategy;
	bool		use_vm;			/* visibility map + FSM shortcut */
	Buffer		vmbuf;
	BlockNumber N;
	double		N_vis;
	double		N_other;
	Stratum		vis;
	Stratum		other;
	double		calib_live;
	double		calib_used;
	double		calib_every;	/* read every k-th all-visible block */
	double		visible_seen;
	BlockNumber last_fsm_page;
	int64		fsm_pages;
	int64		reads;
} HeapSample;

/*
 * One pass: visit enough random blocks that about `reads` of them are not
 * all-visible; those are read, all-visible ones cost a FSM probe (and a few
 * are read to calibrate their live share).
 */
static void
heap_sample_pass(HeapSample *hs, int reads)
{
	BlockSamplerData bs;
	double		n_visits;
	BlockNumber blk;
	double		live,
				dead,
				free;

	n_visits = hs->N_other > 0 ? (double) reads * hs->N / hs->N_other : reads;
	n_visits = Min(Max(n_visits, (double) reads), (double) hs->N);
	if (hs->calib_every == 0)
		hs->calib_every = Max(1.0, (n_visits * hs->N_vis / hs->N) / BLOAT_CALIBRATION_READS);

	BlockSampler_Init(&bs, hs->N, (int) n_visits,
					  pg_prng_uint32(&pg_global_prng_state));
	while (BlockSampler_HasMore(&bs))
	{
		blk = BlockSampler_Next(&bs);
		CHECK_FOR_INTERRUPTS();
		if (hs->use_vm && VM_ALL_VISIBLE(hs->rel, blk, &hs->vmbuf))
		{
			/* FSM categories round down to BLCKSZ/256: add half of one */
			free = GetRecordedFreeSpace(hs->rel, blk) + BLCKSZ / 512;
			if (blk / SlotsPerFSMPage != hs->last_fsm_page)
			{
				hs->last_fsm_page = blk / SlotsPerFSMPage;
				hs->fsm_pages++;
			}
			if (hs->calib_live + hs->calib_used == 0 ||
				(fmod(hs->visible_seen, hs->calib_every) < 1.0 &&
				 hs->visible_seen < hs->calib_every * BLOAT_CALIBRATION_READS))
			{
				double		rfree;

				heap_page(hs->rel, blk, hs->strategy, &live, &dead, &rfree);
				hs->reads++;
				hs->calib_live += live;
				hs->calib_used += BLCKSZ - rfree - dead;
			}
			hs->visible_seen += 1;
			stratum_add(&hs->vis, 0, 0, free);
		}
		else
		{
			heap_page(hs->rel, blk, hs->strategy, &live, &dead, &free);
			hs->reads++;
			stratum_add(&hs->other, live, dead, free);
		}
	}
	hs->last_fsm_page = InvalidBlockNumber;
}

static double
heap_bound(const HeapSample *hs)
{
	return 100.0 * BLOAT_Z95 *
		sqrt(stratum_variance(&hs->vis, hs->N_vis) +
			 stratum_variance(&hs->other, hs->N_other)) /
		((double) hs->N * BLCKSZ);
}

/*
 * sample > 0: about that many reads.  sample < 0: the default, adaptive.
 */
static void
measure_heap(Relation rel, int sample, Measurement *m)
{
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	BlockNumber N = m->nblocks;
	double		live,
				dead,
				free;

	if (m->exact)
	{
		Stratum		all = {0};
		BlockNumber blk;

		for (blk = 0; blk < N; blk++)
		{
			CHECK_FOR_INTERRUPTS();
			heap_page(rel, blk, strategy, &live, &dead, &free);
			stratum_add(&all, live, dead, free);
			m->pages_read++;
		}
		m->live_bytes = all.live;
		m->dead_bytes = all.dead;
		m->free_bytes = all.free;
		m->error_pct = 0;
	}
	else
	{
		HeapSample	hs = {0};
		double		ratio;
		int			extra;

		hs.rel = rel;
		hs.strategy = strategy;
		hs.vmbuf = InvalidBuffer;
		hs.N = N;
		hs.last_fsm_page = InvalidBlockNumber;

		/*
		 * Stratify: how many blocks are all-visible (one VM page = 32k
		 * blocks).  Not on a standby: its free space map is not kept up to
		 * date by WAL replay, so every sampled block is read there.
		 */
		hs.use_vm = !RecoveryInProgress();
		if (hs.use_vm)
		{
			BlockNumber nvis = 0;

			visibilitymap_count(rel, &nvis, NULL);
			hs.N_vis = Min(nvis, N);
		}
		hs.N_other = N - hs.N_vis;

		if (sample > 0)
			heap_sample_pass(&hs, sample);
		else
		{
			heap_sample_pass(&hs, pilot_sample(N));
			/* reads of not-all-visible blocks drive cost and, mostly, variance */
			extra = more_pages(heap_bound(&hs),
							   (int64) (hs.N_other > 0 ? hs.other.n : hs.vis.n),
							   sample_budget(N));
			if (extra > 0)
				heap_sample_pass(&hs, extra);
		}
		if (hs.vmbuf != InvalidBuffer)
			ReleaseBuffer(hs.vmbuf);

		/* VM pages and FSM leaf pages (plus the FSM's upper levels) consulted. */
		m->pages_read = hs.reads + (hs.use_vm ? N / (BLCKSZ * 4) + 1 : 0);
		if (hs.fsm_pages > 0)
			m->pages_read += hs.fsm_pages + 2;

		ratio = hs.calib_used > 0 ? hs.calib_live / hs.calib_used : 0.9;

		m->live_bytes = m->dead_bytes = m->free_bytes = 0;
		if (hs.other.n > 0)
		{
			m->live_bytes += hs.N_other * hs.other.live / hs.other.n;
			m->dead_bytes += hs.N_other * hs.other.dead / hs.other.n;
			m->free_bytes += hs.N_other * hs.other.free / hs.other.n;
		}
		if (hs.vis.n > 0)
		{
			double		vfree = hs.N_vis * hs.vis.free / hs.vis.n;

			m->free_bytes += vfree;
			m->live_bytes += (hs.N_vis * BLCKSZ - vfree) * ratio;
		}
		else if (hs.N_vis > 0 && hs.other.n > 0)
		{
			/* No all-visible block drawn: lean on the other stratum. */
			m->free_bytes += hs.N_vis * hs.other.free / hs.other.n;
			m->live_bytes += hs.N_vis * hs.other.live / hs.other.n;
		}
		m->error_pct = heap_bound(&hs);
	}

	FreeAccessStrategy(strategy);
	m->bloat_pct = N > 0 ?
		100.0 * (m->dead_bytes + m->free_bytes) / ((double) N * BLCKSZ) : 0;
}

static void
check_btree_meta(Relation rel, BufferAccessStrategy strategy, Measurement *m)
{
	Buffer		buf;
	BTMetaPageData *meta;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, BTREE_METAPAGE, RBM_NORMAL, strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	meta = BTPageGetMeta(BufferGetPage(buf));
	if (!P_ISMETA(BTPageGetOpaque(BufferGetPage(buf))) ||
		meta->btm_magic != BTREE_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has no valid btree metapage",
						RelationGetRelationName(rel)),
				 errhint("Check it with contrib amcheck (bt_index_check).")));
	UnlockReleaseBuffer(buf);
	m->pages_read++;
}

/* Running sums of a btree measurement. */
typedef struct BtSums
{
	double		seen;			/* pages after the metapage looked at */
	double		leaves;
	double		ignored;		/* new, deleted, half-dead */
	double		used;
	double		avail;
	double		dead;
	double		used_sq;
	double		used_avail;
	double		avail_sq;
} BtSums;

static void
btree_page(Relation rel, BlockNumber blk, BufferAccessStrategy strategy,
		   BtSums *b)
{
	Buffer		buf;
	Page		page;

	CHECK_FOR_INTERRUPTS();
	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	b->seen += 1;
	if (PageIsNew(page) || P_IGNORE(BTPageGetOpaque(page)))
		b->ignored += 1;
	else if (P_ISLEAF(BTPageGetOpaque(page)))
	{
		/* pgstatindex's leaf accounting */
		double		avail = BLCKSZ - (BLCKSZ - ((PageHeader) page)->pd_special +
									  SizeOfPageHeaderData);
		double		used = avail - PGA_BTREE_LEAF_FREE(page);
		OffsetNumber off,
					maxoff = PageGetMaxOffsetNumber(page);

		for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
		{
			ItemId		lp = PageGetItemId(page, off);

			if (ItemIdIsDead(lp))
				b->dead += ItemIdGetLength(lp);
		}
		b->leaves += 1;
		b->used += used;
		b->avail += avail;
		b->used_sq += used * used;
		b->used_avail += used * avail;
		b->avail_sq += avail * avail;
	}
	UnlockReleaseBuffer(buf);
}

static void
btree_sample_pass(Relation rel, BufferAccessStrategy strategy, BlockNumber N,
				  int n, BtSums *b)
{
	BlockSamplerData bs;

	/* the population is the pages after the metapage */
	BlockSampler_Init(&bs, N - 1, n, pg_prng_uint32(&pg_global_prng_state));
	while (BlockSampler_HasMore(&bs))
		btree_page(rel, BlockSampler_Next(&bs) + 1, strategy, b);
}

/*
 * 95 % bound of bloat_pct in points: ratio-estimator variance, s^2 of
 * (used - R avail) over the sampled leaves / (n mean(avail)^2), with the
 * finite-population correction.
 */
static double
btree_bound(const BtSums *b, BlockNumber N, double ff)
{
	double		r,
				s2,
				mean_avail,
				fpc,
				var_r;

	if (b->leaves < 2 || N < 2)
		return 0;
	r = b->used / b->avail;
	s2 = (b->used_sq - 2 * r * b->used_avail + r * r * b->avail_sq) / (b->leaves - 1);
	mean_avail = b->avail / b->leaves;
	fpc = Max(0.0, 1.0 - b->seen / (N - 1));
	var_r = s2 / (b->leaves * mean_avail * mean_avail) * fpc;
	return 100.0 * BLOAT_Z95 * sqrt(Max(var_r, 0)) / ff;
}

static void
measure_btree(Relation rel, int sample, Measurement *m)
{
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	BlockNumber N = m->nblocks;
	double		ff = BTGetFillFactor(rel) / 100.0;
	BtSums		b = {0};
	double		density;

	check_btree_meta(rel, strategy, m);
	if (m->exact)
	{
		BlockNumber blk;

		for (blk = 1; blk < N; blk++)
			btree_page(rel, blk, strategy, &b);
	}
	else if (sample > 0)
		btree_sample_pass(rel, strategy, N, sample, &b);
	else
	{
		int			extra;

		btree_sample_pass(rel, strategy, N, pilot_sample(N), &b);
		extra = more_pages(btree_bound(&b, N, ff), (int64) b.seen, sample_budget(N));
		if (extra > 0)
			btree_sample_pass(rel, strategy, N, extra, &b);
	}
	FreeAccessStrategy(strategy);
	m->pages_read += (int64) b.seen;

	density = b.avail > 0 ? b.used / b.avail : 0;
	m->bloat_pct = b.leaves > 0 ? 100.0 * (1.0 - density / ff) : 0;
	m->error_pct = m->exact ? 0 : btree_bound(&b, N, ff);

	/* Extrapolate the leaf level and the unusable pages to the index. */
	if (b.seen > 0)
	{
		double		scale = (N - 1) / b.seen;
		double		leaf_pages = b.leaves * scale;
		double		avg_avail = b.leaves > 0 ? b.avail / b.leaves : 0;
		double		avg_used = b.leaves > 0 ? b.used / b.leaves : 0;
		double		avg_dead = b.leaves > 0 ? b.dead / b.leaves : 0;

		m->live_bytes = leaf_pages * (avg_used - avg_dead);
		m->dead_bytes = leaf_pages * avg_dead;
		m->free_bytes = leaf_pages * (avg_avail - avg_used) + b.ignored * scale * BLCKSZ;
	}
}

/*
 * architect.measure_bloat(rel regclass, sample_pages int DEFAULT NULL)
 *
 * sample_pages NULL: the default sample (exact on small relations);
 * 0: exact, every page; N > 0: about N page reads (exact if the relation
 * has no more than N pages).
 */
Datum
architect_measure_bloat(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Relation	rel;
	Measurement m = {0};
	int			sample;
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		nulls[10] = {0};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	relid = PG_GETARG_OID(0);
	if (!PG_ARGISNULL(1) && PG_GETARG_INT32(1) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample_pages must be 0 (exact) or a positive number of pages, not %d",
						PG_GETARG_INT32(1)),
				 errhint("Pass NULL for the default sample, 0 to read every page.")));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	rel = bloat_open_relation(relid, true);
	m.nblocks = RelationGetNumberOfBlocks(rel);
	m.table_bytes = (double) m.nblocks * BLCKSZ;

	/* sample < 0: the adaptive default; a btree samples after its metapage */
	if (PG_ARGISNULL(1))
		sample = m.nblocks <= BLOAT_EXACT_PAGES ? 0 : -1;
	else
		sample = PG_GETARG_INT32(1);
	m.exact = (sample == 0 ||
			   (sample > 0 &&
				(BlockNumber) sample >= (bloat_relation_is_btree(rel) && m.nblocks > 0 ?
										 m.nblocks - 1 : m.nblocks)));

	if (m.nblocks > 0)
	{
		if (bloat_relation_is_btree(rel))
			measure_btree(rel, sample, &m);
		else
			measure_heap(rel, sample, &m);
	}

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(m.exact ? "exact" : "sampled");
	values[2] = Int64GetDatum((int64) m.table_bytes);
	values[3] = Int64GetDatum((int64) rint(m.live_bytes));
	values[4] = Int64GetDatum((int64) rint(m.dead_bytes));
	values[5] = Int64GetDatum((int64) rint(m.free_bytes));
	values[6] = Float8GetDatum(m.bloat_pct);
	values[7] = Int64GetDatum(m.pages_read);
	values[8] = Int64GetDatum((int64) m.nblocks);
	values[9] = Float8GetDatum(m.error_pct);

	relation_close(rel, NoLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
