/* qr-window-private.h: the window's state, shared by its three files: qr-window.c (the shell:
 * header bar, sidebar, pages, opening a collection, settings), qr-window-actions.c (everything a
 * menu, a key or a test can trigger) and qr-window-jobs.c (the background jobs and their bar).
 * The pages own their widgets and work: gallery/qr-gallery-page.c, viewer/qr-viewer-page.c. */
#pragma once

#include "qr-window.h"
#include "qr-gallery-page.h"
#include "qr-sidebar.h"
#include "qr-viewer-page.h"
#include "qr-layer-list.h"
#include "qr-job-bar.h"
#include "qr-image-list.h"
#include "qr-history.h"
#include "qr-jobs.h"
#include "qr-stall-monitor.h"
#include "qr-caption-model-window.h"

G_BEGIN_DECLS

struct _QrWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwWindowTitle       *window_title;
  AdwToastOverlay      *toast_overlay;
  AdwStatusPage        *status_page;
  GtkButton            *status_button;  /* the empty page's next step */
  GtkButton            *detect_button;  /* in the header while the collection has no model boxes */
  GtkStack             *stack;
  QrGalleryPage        *gallery;
  QrViewerPage         *viewer;
  QrSidebar            *sidebar;
  AdwFlap              *sidebar_flap;
  GtkWidget            *sidebar_button; /* shown while the sidebar is folded */
  guint                 fold_idle;
  GtkButton            *back_button;
  GtkWidget            *score_box;
  GtkScale             *score_scale;
  GtkWidget            *score_label;    /* hidden in a narrow window (the scale's tooltip says it) */
  GtkBox               *heat_box;       /* the heatmap's opacity, shown while the heatmap is on */
  GtkScale             *heat_scale;
  GtkMenuButton        *layers_button;
  QrLayerList          *layers_box;
  GtkDropDown          *review_class_dropdown;
  QrJobBar             *job_bar;
  GMenu                *recent_section;

  /* Owned references */
  GSettings            *settings;       /* NULL when no schema is installed */
  QrCatalog            *catalog;        /* the main thread's connection */
  QrHistory            *history;        /* label edits of this collection, for undo */
  QrImageList          *images;
  GArray               *detect_only;    /* image ids for the next Detect, NULL: all */
  GCancellable         *job_cancellable;
  GCancellable         *search_cancellable;
  char                 *search_text;    /* the search shown, NULL: none */
  char                 *search_scorer;  /* the scorer that ranked it (qr_scorer_list_names) */
  GArray               *review_class_ids;   /* the dropdown's classes; position 0 is "All classes" */
  QrStallMonitor       *job_stalls;     /* the main loop's longest stall while a job runs */
  char                 *collection;
  QrCaptionModelWindow *caption_window; /* weak: the Caption Model window while open */
  int                   next_caption_epochs;   /* for the next Train Caption Model job */
  gboolean              next_caption_restart;
  char                 *next_clip_dir;         /* for the next Compute CLIP Embeddings job */

  gboolean              review_class_updating;
  gboolean              disposing;      /* no new background work */
  gint64                last_job_stall_us;
  guint                 viewer_position;
  gint64                viewer_image_id;  /* the image on screen: positions move when the list reloads */
};

/* qr-window.c */
void     qr_window_toast                 (QrWindow   *self,
                                          const char *message);
/* page: "empty", "gallery" or "viewer"; the header and the actions follow. */
void     qr_window_show_page             (QrWindow   *self,
                                          const char *page);
gboolean qr_window_is_viewing            (QrWindow   *self);
void     qr_window_show_gallery_or_empty (QrWindow   *self);
/* The title, the subtitle's counts and the sidebar, from the catalog. */
void     qr_window_update_subtitle       (QrWindow   *self);
void     qr_window_rebuild_sidebar       (QrWindow   *self);
void     qr_window_show_image_at         (QrWindow   *self,
                                          guint       position);
/* Opens an image in the viewer by id, switching the gallery to All Images when the view shown
 * does not hold it; FALSE when the catalog has no such image. */
gboolean qr_window_show_image_id         (QrWindow   *self,
                                          gint64      image_id);
/* A toast with a button for action (win.undo: "Undo", win.redo: "Redo"). */
void     qr_window_toast_undo            (QrWindow   *self,
                                          const char *message,
                                          const char *action);

/* qr-window-actions.c: installs the window's actions and their keys. */
void     qr_window_class_add_actions     (GtkWidgetClass *widget_class);

/* qr-window-jobs.c: one job at a time (a new one cancels the one running). */
void     qr_window_start_index           (QrWindow   *self);
/* Detect over detect_only (NULL: the whole collection); label says which. */
void     qr_window_start_detect          (QrWindow   *self,
                                          const char *label);
void     qr_window_start_review_update   (QrWindow   *self);
/* Train Caption Model: features, then epochs epochs (or resumes); restart drops an unfinished run. */
/* Compute CLIP Embeddings: the collection's images with the CLIP model in dir (qr-scorer.h). */
void     qr_window_start_clip_embedding (QrWindow  *self,
                                         const char *dir);
void     qr_window_start_caption_training (QrWindow  *self,
                                           int        epochs,
                                           gboolean   restart);
/* Ctrl+F: the gallery ranked for a text (qr-scorer.h), on a worker; stop shows the view again. */
void     qr_window_search                (QrWindow   *self,
                                          const char *text,
                                          const char *scorer);
void     qr_window_stop_search           (QrWindow   *self);

G_END_DECLS
