/* qr-jobs.h: the background-job scheduler. A job runs in its own worker thread; what it reports
 * (a phase, done of total) reaches the main context coalesced — reports of the same phase
 * overwrite one another until the main loop takes them, so a job that reports per image never
 * floods the loop — and its end (a summary or an error) is delivered there once, after its last
 * report. Cancel goes through the job's GCancellable and is honoured where the work checks it
 * (between batches of a detection run, between nodes of a network). qr_jobs_wait lets a window
 * or the app wait for its workers before it goes. GLib only: the app and the CLI share it. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _QrJob QrJob;

/* In the worker: the work. Returns a summary (owned by the job) or NULL with error set. */
typedef char *(*QrJobFunc)         (QrJob        *job,
                                    gpointer      data,
                                    GCancellable *cancellable,
                                    GError      **error);
/* On the main context. */
typedef void  (*QrJobProgressFunc) (QrJob        *job,
                                    int           phase,
                                    guint64       done,
                                    guint64       total,
                                    gpointer      user_data);
typedef void  (*QrJobDoneFunc)     (QrJob        *job,
                                    const char   *summary,
                                    const GError *error,
                                    gpointer      user_data);

/* Starts func (data, freed with destroy when the job ends) in a new worker thread; progress and
 * done are called on the thread-default main context of the caller. user_data is freed with
 * user_destroy after done. The returned job is the caller's reference (qr_job_unref). */
QrJob        *qr_job_start          (const char        *name,
                                     QrJobFunc          func,
                                     gpointer           data,
                                     GDestroyNotify     destroy,
                                     GCancellable      *cancellable,
                                     QrJobProgressFunc  progress,
                                     QrJobDoneFunc      done,
                                     gpointer           user_data,
                                     GDestroyNotify     user_destroy);
/* From the worker. */
void          qr_job_report         (QrJob             *job,
                                     int                phase,
                                     guint64            done,
                                     guint64            total);
void          qr_job_cancel         (QrJob             *job);
GCancellable *qr_job_get_cancellable (QrJob            *job);
const char   *qr_job_get_name       (QrJob             *job);
/* How many reports reached the main context, and how many were made (for tests). */
void          qr_job_get_report_counts (QrJob          *job,
                                        guint          *made,
                                        guint          *delivered);
QrJob        *qr_job_ref            (QrJob             *job);
void          qr_job_unref          (QrJob             *job);

/* A worker started some other way (a GTask) that qr_jobs_wait should also cancel (through
 * cancellable, which may be NULL) and wait for: begin before it starts, end when it returns,
 * with the same cancellable and owner (who started it, for qr_jobs_wait_owner). */
void          qr_jobs_worker_begin  (GCancellable      *cancellable,
                                     gconstpointer      owner);
void          qr_jobs_worker_end    (GCancellable      *cancellable,
                                     gconstpointer      owner);
/* Runs task's func in a thread (g_task_run_in_thread) as a worker counted as above, its owner
 * the task's source object: how the app's own GTasks (the viewer's photo and heatmap) join the
 * scheduler, so that a window going away waits for its own and quitting cancels them all. */
void          qr_jobs_run_task      (GTask             *task,
                                     GTaskThreadFunc    func);
/* Waits (at most timeout_us) for the workers owner began; FALSE when some still run. */
gboolean      qr_jobs_wait_owner    (gconstpointer      owner,
                                     gint64             timeout_us);

/* Cancels every running job (cancel TRUE) and waits until each worker has returned, at most
 * timeout_us; FALSE when some are still running then. Done callbacks not yet delivered are
 * delivered later by the main context as usual. */
gboolean      qr_jobs_wait          (gboolean           cancel,
                                     gint64             timeout_us);
/* Workers (jobs' and others') that have not returned yet. */
guint         qr_jobs_running       (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrJob, qr_job_unref)

G_END_DECLS
