/* jobs.c: the background-job scheduler (qr-jobs.h): a worker thread per job, progress coalesced
 * onto the main context, the end delivered once after the last report, and a registry of running
 * workers (jobs and tracked GTasks) that windows and the app wait for. */
#define G_LOG_DOMAIN "quorum-jobs"

#include "qr-jobs.h"

typedef struct
{
  int     phase;
  guint64 done, total;
} Report;

struct _QrJob
{
  gint              ref;
  char             *name;
  QrJobFunc         func;
  gpointer          data;
  GDestroyNotify    destroy;
  GCancellable     *cancellable;
  QrJobProgressFunc progress;
  QrJobDoneFunc     done;
  gpointer          user_data;
  GDestroyNotify    user_destroy;
  GMainContext     *context;

  GMutex            lock;
  GArray           *reports;        /* Report, waiting for the main context */
  gboolean          flush_queued;
  guint             made, delivered;
  char             *summary;
  GError           *error;
};

/* Every worker running, jobs' and others': its cancellable (may be NULL) and who started it (may
 * be NULL), for qr_jobs_wait and qr_jobs_wait_owner. */
typedef struct
{
  GCancellable *cancellable;
  gconstpointer owner;
} Worker;

static GMutex running_lock;
static GCond running_cond;
static GArray *running;   /* Worker */

void
qr_jobs_worker_begin (GCancellable *cancellable, gconstpointer owner)
{
  Worker w = { cancellable != NULL ? g_object_ref (cancellable) : NULL, owner };

  g_mutex_lock (&running_lock);
  if (running == NULL)
    running = g_array_new (FALSE, FALSE, sizeof (Worker));
  g_array_append_val (running, w);
  g_mutex_unlock (&running_lock);
}

void
qr_jobs_worker_end (GCancellable *cancellable, gconstpointer owner)
{
  g_mutex_lock (&running_lock);
  for (guint i = 0; i < running->len; i++)
    {
      Worker *w = &g_array_index (running, Worker, i);
      if (w->cancellable == cancellable && w->owner == owner)
        {
          g_clear_object (&w->cancellable);
          g_array_remove_index (running, i);
          break;
        }
    }
  g_cond_broadcast (&running_cond);
  g_mutex_unlock (&running_lock);
}

/* Running workers of owner, or all when any is TRUE; the lock held. */
static guint
count_running (gconstpointer owner, gboolean any)
{
  guint n = 0;
  for (guint i = 0; running != NULL && i < running->len; i++)
    n += any || g_array_index (running, Worker, i).owner == owner;
  return n;
}

/* Always queued on the job's context, never run here: g_main_context_invoke would run it in the
 * worker itself whenever the main thread is not iterating at that moment (the worker can then
 * acquire the global default context), and GTK must only be touched from the main thread. */
static void
queue_on (GMainContext *context, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, destroy);
  g_source_set_static_name (source, "quorum-job");
  g_source_attach (source, context);
  g_source_unref (source);
}

QrJob *
qr_job_ref (QrJob *job)
{
  g_atomic_int_inc (&job->ref);
  return job;
}

void
qr_job_unref (QrJob *job)
{
  if (job == NULL || !g_atomic_int_dec_and_test (&job->ref))
    return;
  if (job->destroy != NULL)
    job->destroy (job->data);
  if (job->user_destroy != NULL)
    job->user_destroy (job->user_data);
  g_clear_object (&job->cancellable);
  g_main_context_unref (job->context);
  g_array_unref (job->reports);
  g_mutex_clear (&job->lock);
  g_free (job->summary);
  g_clear_error (&job->error);
  g_free (job->name);
  g_free (job);
}

/* On the main context: every waiting report, in order. */
static void
deliver_reports (QrJob *job)
{
  g_autoptr (GArray) reports = NULL;

  g_mutex_lock (&job->lock);
  reports = job->reports;
  job->reports = g_array_new (FALSE, FALSE, sizeof (Report));
  job->flush_queued = FALSE;
  job->delivered += reports->len;
  g_mutex_unlock (&job->lock);
  for (guint i = 0; i < reports->len && job->progress != NULL; i++)
    {
      Report *r = &g_array_index (reports, Report, i);
      job->progress (job, r->phase, r->done, r->total, job->user_data);
    }
}

static gboolean
flush_reports (gpointer data)
{
  deliver_reports (data);
  return G_SOURCE_REMOVE;
}

void
qr_job_report (QrJob *job, int phase, guint64 done, guint64 total)
{
  gboolean queue;
  Report r = { phase, done, total };

  g_mutex_lock (&job->lock);
  job->made++;
  /* the same phase as the last waiting report: only the newest counts */
  if (job->reports->len > 0 && g_array_index (job->reports, Report, job->reports->len - 1).phase == phase)
    g_array_index (job->reports, Report, job->reports->len - 1) = r;
  else
    g_array_append_val (job->reports, r);
  queue = !job->flush_queued;
  job->flush_queued = TRUE;
  g_mutex_unlock (&job->lock);
  if (queue)
    queue_on (job->context, flush_reports, qr_job_ref (job), (GDestroyNotify) qr_job_unref);
}

static gboolean
deliver_done (gpointer data)
{
  QrJob *job = data;

  deliver_reports (job);   /* the last reports come before the end */
  if (job->done != NULL)
    job->done (job, job->summary, job->error, job->user_data);
  return G_SOURCE_REMOVE;
}

static gpointer
worker (gpointer data)
{
  QrJob *job = data;
  GError *error = NULL;
  char *summary = job->func (job, job->data, job->cancellable, &error);

  job->summary = summary;
  job->error = summary == NULL && error == NULL
                 ? g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "the job failed without saying why")
                 : error;
  if (summary != NULL && error != NULL)
    g_clear_error (&job->error);
  queue_on (job->context, deliver_done, qr_job_ref (job), (GDestroyNotify) qr_job_unref);
  qr_jobs_worker_end (job->cancellable, NULL);
  qr_job_unref (job);   /* the worker's reference */
  return NULL;
}

QrJob *
qr_job_start (const char *name, QrJobFunc func, gpointer data, GDestroyNotify destroy, GCancellable *cancellable,
              QrJobProgressFunc progress, QrJobDoneFunc done, gpointer user_data, GDestroyNotify user_destroy)
{
  QrJob *job = g_new0 (QrJob, 1);
  GThread *thread;

  job->ref = 2;   /* the caller's and the worker's */
  job->name = g_strdup (name);
  job->func = func;
  job->data = data;
  job->destroy = destroy;
  job->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  job->progress = progress;
  job->done = done;
  job->user_data = user_data;
  job->user_destroy = user_destroy;
  job->context = g_main_context_ref_thread_default ();
  job->reports = g_array_new (FALSE, FALSE, sizeof (Report));
  g_mutex_init (&job->lock);
  qr_jobs_worker_begin (job->cancellable, NULL);
  thread = g_thread_new (name, worker, job);
  g_thread_unref (thread);
  return job;
}

void
qr_job_cancel (QrJob *job)
{
  g_cancellable_cancel (job->cancellable);
}

GCancellable *
qr_job_get_cancellable (QrJob *job)
{
  return job->cancellable;
}

const char *
qr_job_get_name (QrJob *job)
{
  return job->name;
}

void
qr_job_get_report_counts (QrJob *job, guint *made, guint *delivered)
{
  g_mutex_lock (&job->lock);
  *made = job->made;
  *delivered = job->delivered;
  g_mutex_unlock (&job->lock);
}

gboolean
qr_jobs_wait (gboolean cancel, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean ok = TRUE;

  g_mutex_lock (&running_lock);
  for (guint i = 0; cancel && running != NULL && i < running->len; i++)
    if (g_array_index (running, Worker, i).cancellable != NULL)
      g_cancellable_cancel (g_array_index (running, Worker, i).cancellable);
  while (count_running (NULL, TRUE) > 0 && ok)
    ok = g_cond_wait_until (&running_cond, &running_lock, end);
  ok = count_running (NULL, TRUE) == 0;
  g_mutex_unlock (&running_lock);
  return ok;
}

gboolean
qr_jobs_wait_owner (gconstpointer owner, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean ok = TRUE;

  g_mutex_lock (&running_lock);
  while (count_running (owner, FALSE) > 0 && ok)
    ok = g_cond_wait_until (&running_cond, &running_lock, end);
  ok = count_running (owner, FALSE) == 0;
  g_mutex_unlock (&running_lock);
  return ok;
}

guint
qr_jobs_running (void)
{
  guint n;
  g_mutex_lock (&running_lock);
  n = count_running (NULL, TRUE);
  g_mutex_unlock (&running_lock);
  return n;
}

static void
tracked_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GTaskThreadFunc func = (GTaskThreadFunc) g_object_get_data (G_OBJECT (task), "qr-worker-func");

  func (task, source, task_data, cancellable);
  qr_jobs_worker_end (cancellable, source);
}

void
qr_jobs_run_task (GTask *task, GTaskThreadFunc func)
{
  qr_jobs_worker_begin (g_task_get_cancellable (task), g_task_get_source_object (task));
  g_object_set_data (G_OBJECT (task), "qr-worker-func", (gpointer) func);
  g_task_run_in_thread (task, tracked_thread);
}
