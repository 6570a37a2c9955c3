/* qr-job-bar.h: the bar at the window's foot that shows the background job in progress: what it
 * is doing, a progress bar (pulsing when the total is unknown), the rate and the time left, and a
 * cancel button (win.cancel-job). It slides in when a job starts and out when it ends. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define QR_TYPE_JOB_BAR (qr_job_bar_get_type ())
G_DECLARE_FINAL_TYPE (QrJobBar, qr_job_bar, QR, JOB_BAR, GtkWidget)

/* Shows the bar, empty, with label. */
void qr_job_bar_start    (QrJobBar   *self,
                          const char *label);
/* The job moved to phase (the rate is measured from now on), with nothing shown yet. */
void qr_job_bar_set_phase (QrJobBar  *self,
                           int         phase);
/* A report: phase (the job's own numbering) and its label; the rate and time left are measured
 * from when the phase began. total 0: unknown, the bar pulses. */
void      qr_job_bar_progress (QrJobBar   *self,
                               int         phase,
                               const char *label,
                               const char *unit,
                               guint64     done,
                               guint64     total);
/* "312 / 18,000 images · 42 img/s · 6 min left" (unit: "images", "epochs"…; rate ≤ 0: not known yet),
 * and its last part alone. */
char     *qr_job_bar_format_progress (guint64     done,
                                      guint64     total,
                                      const char *unit,
                                      double      rate);
char     *qr_job_bar_format_eta      (double      seconds);
void qr_job_bar_finish   (QrJobBar   *self);

G_END_DECLS
