/* qr-canvas-private.h: the canvas's state, shared by its two files: qr-canvas.c (drawing, zoom,
 * pan, the widget) and qr-canvas-edit.c (selecting, moving, resizing, drawing and deciding boxes). */
#pragma once

#include "qr-canvas.h"
#include "qr-catalog.h"

G_BEGIN_DECLS

struct _QrCanvas
{
  GtkWidget   parent_instance;

  /* Owned references */
  GdkTexture *texture;
  GdkTexture *heatmap;
  double      cell_size;   /* image pixels per heatmap texel */
  double      heat_opacity;
  gboolean    heat_relative;  /* its scale runs from its lowest to its highest, not 0 to 1 */
  char       *heat_title;     /* the heatmap's class (or words), for its legend */
  GHashTable *hidden_sources;   /* layers turned off: "label" or a model's name */
  gboolean    has_highlight;    /* a review item's consensus box, drawn dotted */
  QrBox       highlight;
  gboolean    space_down;  /* Space held: a drag pans, even over a box */
  double      pinch_zoom;  /* the zoom when a pinch began */
  GPtrArray  *overlays;    /* QrOverlayBox */

  int         image_width;
  int         image_height;
  double      zoom;        /* 1 = fit */
  double      pan_x;       /* offset of the image centre from the widget centre, widget pixels */
  double      pan_y;
  double      drag_start_x;
  double      drag_start_y;
  double      threshold;
  gboolean    legend_on;      /* L: the classes on screen, their colours and counts */
  guint       n_tags_elided;  /* tags left out at the last draw: no room */

  /* editing */
  QrHistory  *history;        /* owned reference, NULL when not editing */
  gint64      image_id;
  int         selected;       /* index into overlays, -1 for none */
  gboolean    draw_mode;      /* B pressed: the next drag draws a box */
  int         drag_mode;      /* DRAG_… */
  int         handle;         /* 0–7 clockwise from the top-left corner */
  QrBox       drag_box;       /* the box being moved, resized or drawn (image pixels) */
  QrBox       drag_origin;
  double      press_x, press_y;
  gint64      class_id;       /* for new boxes: the last class used */
  GtkWidget  *class_popover;  /* C: pick the selected box's class by name */
  GtkWidget  *class_entry;
  GtkWidget  *class_list;
};

enum { DRAG_PAN, DRAG_MOVE, DRAG_RESIZE, DRAG_DRAW };

/* qr-canvas.c */
void     qr_canvas_emit_changed     (QrCanvas     *self);
void     qr_canvas_emit_selection   (QrCanvas     *self);
gboolean qr_canvas_box_visible      (QrCanvas     *self,
                                     QrOverlayBox *b);
/* Where the image is drawn: its top-left corner and widget pixels per image pixel. */
void     qr_canvas_image_rect       (QrCanvas     *self,
                                     double       *x,
                                     double       *y,
                                     double       *scale);
/* Handle 0–7, clockwise from the top-left corner, of box b (image pixels). */
void     qr_canvas_handle_position  (const QrBox  *b,
                                     int           handle,
                                     double       *x,
                                     double       *y);

/* qr-canvas-edit.c: the gestures' and the edit actions' handlers. */
void     qr_canvas_on_drag_begin    (GtkGestureDrag *gesture,
                                     double          x,
                                     double          y,
                                     QrCanvas       *self);
void     qr_canvas_on_drag_update   (GtkGestureDrag *gesture,
                                     double          dx,
                                     double          dy,
                                     QrCanvas       *self);
void     qr_canvas_on_drag_end      (GtkGestureDrag *gesture,
                                     double          dx,
                                     double          dy,
                                     QrCanvas       *self);
void     qr_canvas_on_click         (GtkGestureClick *gesture,
                                     int              n_press,
                                     double           x,
                                     double           y,
                                     QrCanvas        *self);
void     qr_canvas_action_edit      (GtkWidget    *widget,
                                     const char   *name,
                                     GVariant     *param);
void     qr_canvas_action_pick_class (GtkWidget   *widget,
                                     const char   *name,
                                     GVariant     *param);

G_END_DECLS
