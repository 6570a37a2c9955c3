/* test-peers.c: peer-pressure scores on constructed cases, each expectation worked out by hand
 * from the formulas in inference/mistakes/peers.c. Three peers; classes 1 = dog, 2 = cat. */
#include "qr-peers.h"
#include "qr-eval.h"

#include <math.h>

#define DOG 1
#define CAT 2

static const QrMistake *
find (GArray *mistakes, QrMistakeKind kind)
{
  for (guint i = 0; i < mistakes->len; i++)
    if (g_array_index (mistakes, QrMistake, i).kind == kind)
      return &g_array_index (mistakes, QrMistake, i);
  return NULL;
}

static void
assert_near (float got, float want)
{
  if (fabsf (got - want) > 1e-4f)
    g_error ("got %g, want %g", got, want);
}

/* K = m (1 − σ) for votes a, b, c (population σ). */
static float
strength (float a, float b, float c)
{
  float m = (a + b + c) / 3, v = (a * a + b * b + c * c) / 3 - m * m;
  return m * (1 - sqrtf (MAX (v, 0)));
}

static void
test_agreement_is_quiet (void)
{
  QrPeerBox boxes[] = {
    { 0, DOG, 0.9f, 100, 100, 200, 220 },
    { 1, DOG, 0.85f, 102, 98, 201, 221 },
    { 2, DOG, 0.8f, 99, 101, 199, 219 },
  };
  QrLabelBox labels[] = { { 7, DOG, 100, 100, 200, 220 } };
  g_autoptr (GArray) m = qr_peer_pressure (boxes, 3, 3, labels, 1, NULL);

  /* No label mistake but a tiny "poorly located" (IoU just under 1); model dissent is small. */
  g_assert_null (find (m, QR_MISTAKE_MISSING));
  g_assert_null (find (m, QR_MISTAKE_SPURIOUS));
  g_assert_null (find (m, QR_MISTAKE_WRONG_CLASS));
  for (guint i = 0; i < m->len; i++)
    g_assert_cmpfloat (g_array_index (m, QrMistake, i).score, <, 0.1);
}

static void
test_model_mistake (void)
{
  /* Peers 0 and 1 see a dog at 0.9 and 0.8; peer 2 sees nothing. Others' mean 0.85, spread 0.05:
   * A = 0.80, D = 1 → 0.80. For peer 1 (v 0.8): others = {0.9, 0}, m 0.45, σ 0.45 → A = 0: no. */
  QrPeerBox boxes[] = {
    { 0, DOG, 0.9f, 100, 100, 200, 220 },
    { 1, DOG, 0.8f, 101, 100, 200, 221 },
  };
  g_autoptr (GArray) m = qr_peer_pressure (boxes, 2, 3, NULL, 0, NULL);
  const QrMistake *model = find (m, QR_MISTAKE_MODEL);

  g_assert_nonnull (model);
  g_assert_cmpint (model->peer, ==, 2);
  assert_near (model->score, 0.80f);
  g_assert_cmpfloat (model->votes[2], ==, 0);
  assert_near (model->votes[0], 0.9f);
}

static gboolean
knows_no_dogs (int peer, int class_id, gpointer data)
{
  return !(peer == GPOINTER_TO_INT (data) && class_id == DOG);
}

static gboolean
knows_only_peer_2_dogs (int peer, int class_id, gpointer data)
{
  return class_id != DOG || peer == 2;
}

/* The same scene with peer 2 a model that has no "dog" class (an Open Images peer without it):
 * it abstains, so it is never the dissenter, and the consensus is the other two alone:
 * m = 0.85, σ = 0.05, K = 0.85 · 0.95 = 0.8075 — a missing label when the image has labels. */
static void
test_abstaining_peer (void)
{
  QrPeerBox boxes[] = {
    { 0, DOG, 0.9f, 100, 100, 200, 220 },
    { 1, DOG, 0.8f, 101, 100, 200, 221 },
    { 2, CAT, 0.7f, 300, 300, 400, 400 },
  };
  QrLabelBox labels[] = { { 7, CAT, 300, 300, 400, 400 } };
  QrPeerOptions options;
  g_autoptr (GArray) m = NULL;
  const QrMistake *missing;

  qr_peer_options_init (&options);
  options.knows = knows_no_dogs;
  options.knows_data = GINT_TO_POINTER (2);
  m = qr_peer_pressure (boxes, 3, 3, labels, 1, &options);
  for (guint i = 0; i < m->len; i++)
    g_assert_true (g_array_index (m, QrMistake, i).kind != QR_MISTAKE_MODEL || g_array_index (m, QrMistake, i).peer != 2);
  missing = find (m, QR_MISTAKE_MISSING);
  g_assert_nonnull (missing);
  g_assert_cmpint (missing->class_id, ==, DOG);
  assert_near (missing->score, 0.8075f);
  g_assert_cmpfloat (missing->votes[2], ==, -1);
  g_clear_pointer (&m, g_array_unref);

  /* a dog only peer 2 can see (the others have no dogs): one voter is no consensus */
  {
    QrPeerBox lone[] = { { 2, DOG, 0.95f, 100, 100, 200, 220 } };
    options.knows_data = GINT_TO_POINTER (-1);
    options.knows = knows_only_peer_2_dogs;
    m = qr_peer_pressure (lone, 1, 3, labels, 1, &options);
    g_assert_null (find (m, QR_MISTAKE_MISSING));
  }
}

static void
test_missing_label (void)
{
  /* All three see a cat (0.9, 0.8, 0.7); the only label is a dog elsewhere. */
  QrPeerBox boxes[] = {
    { 0, CAT, 0.9f, 300, 50, 400, 150 },
    { 1, CAT, 0.8f, 302, 52, 398, 149 },
    { 2, CAT, 0.7f, 299, 48, 401, 151 },
    { 0, DOG, 0.9f, 10, 10, 60, 60 },
    { 1, DOG, 0.9f, 10, 10, 60, 60 },
    { 2, DOG, 0.9f, 10, 10, 60, 60 },
  };
  QrLabelBox labels[] = { { 3, DOG, 10, 10, 60, 60 } };
  g_autoptr (GArray) m = qr_peer_pressure (boxes, 6, 3, labels, 1, NULL);
  const QrMistake *missing = find (m, QR_MISTAKE_MISSING);

  g_assert_nonnull (missing);
  g_assert_cmpint (missing->class_id, ==, CAT);
  g_assert_cmpint (missing->label_id, ==, -1);
  assert_near (missing->score, strength (0.9f, 0.8f, 0.7f));
  /* The best item of the image is this one. */
  g_assert_true (&g_array_index (m, QrMistake, 0) == missing);
}

static void
test_spurious_label (void)
{
  QrPeerBox boxes[] = { { 0, DOG, 0.9f, 10, 10, 60, 60 } };
  QrLabelBox labels[] = { { 5, CAT, 400, 300, 450, 380 } };
  g_autoptr (GArray) m = qr_peer_pressure (boxes, 1, 3, labels, 1, NULL);
  const QrMistake *spurious = find (m, QR_MISTAKE_SPURIOUS);

  g_assert_nonnull (spurious);
  g_assert_cmpint (spurious->label_id, ==, 5);
  assert_near (spurious->score, 1.0f);
  assert_near (spurious->x1, 400);
}

static void
test_wrong_class (void)
{
  /* Peers say dog (0.9, 0.9, 0.6) where the label says cat; one peer also gives cat 0.3 there. */
  QrPeerBox boxes[] = {
    { 0, DOG, 0.9f, 100, 100, 200, 200 },
    { 1, DOG, 0.9f, 100, 100, 200, 200 },
    { 2, DOG, 0.6f, 100, 100, 200, 200 },
    { 2, CAT, 0.3f, 100, 100, 200, 200 },
  };
  QrLabelBox labels[] = { { 9, CAT, 100, 100, 200, 200 } };
  g_autoptr (GArray) m = qr_peer_pressure (boxes, 4, 3, labels, 1, NULL);
  const QrMistake *wrong = find (m, QR_MISTAKE_WRONG_CLASS);

  g_assert_nonnull (wrong);
  g_assert_cmpint (wrong->class_id, ==, DOG);
  g_assert_cmpint (wrong->label_class_id, ==, CAT);
  assert_near (wrong->score, strength (0.9f, 0.9f, 0.6f) - strength (0, 0, 0.3f));
}

static void
test_poorly_located (void)
{
  /* Consensus 100..200 × 100..200; the label is shifted right by 50: IoU = 50·100 / (2·10000 − 5000) = 1/3. */
  QrPeerBox boxes[] = {
    { 0, DOG, 0.8f, 100, 100, 200, 200 },
    { 1, DOG, 0.8f, 100, 100, 200, 200 },
    { 2, DOG, 0.8f, 100, 100, 200, 200 },
  };
  QrLabelBox labels[] = { { 4, DOG, 150, 100, 250, 200 } };
  g_autoptr (GArray) m = qr_peer_pressure (boxes, 3, 3, labels, 1, NULL);
  const QrMistake *loc = find (m, QR_MISTAKE_POORLY_LOCATED);

  g_assert_nonnull (loc);
  assert_near (loc->score, 0.8f * (1 - 1.0f / 3));
  g_assert_null (find (m, QR_MISTAKE_MISSING));
}

static void
test_slid_label_is_one_item (void)
{
  /* The label slid far off its object (IoU 1/9 with the consensus): reported once, as poorly
   * located, not as a spurious label plus a missing object. */
  QrPeerBox boxes[] = {
    { 0, DOG, 0.8f, 100, 100, 200, 200 },
    { 1, DOG, 0.8f, 100, 100, 200, 200 },
    { 2, DOG, 0.8f, 100, 100, 200, 200 },
  };
  QrLabelBox labels[] = { { 4, DOG, 150, 150, 250, 250 } };
  g_autoptr (GArray) m = qr_peer_pressure (boxes, 3, 3, labels, 1, NULL);
  const QrMistake *loc = find (m, QR_MISTAKE_POORLY_LOCATED);

  g_assert_nonnull (loc);
  assert_near (loc->score, 0.8f * (1 - 2500.0f / 17500.0f));
  g_assert_null (find (m, QR_MISTAKE_SPURIOUS));
  g_assert_null (find (m, QR_MISTAKE_MISSING));
}

static void
test_disagreement_weakens (void)
{
  /* The same missing object, once with agreeing peers and once with split ones: the split
   * consensus must score lower. */
  QrPeerBox agree[] = { { 0, CAT, 0.6f, 0, 0, 50, 50 }, { 1, CAT, 0.6f, 0, 0, 50, 50 }, { 2, CAT, 0.6f, 0, 0, 50, 50 } };
  QrPeerBox split[] = { { 0, CAT, 0.95f, 0, 0, 50, 50 }, { 1, CAT, 0.75f, 0, 0, 50, 50 }, { 2, CAT, 0.1f, 0, 0, 50, 50 } };
  QrLabelBox labels[] = { { 1, DOG, 200, 200, 260, 260 } };
  g_autoptr (GArray) a = qr_peer_pressure (agree, 3, 3, labels, 1, NULL);
  g_autoptr (GArray) b = qr_peer_pressure (split, 3, 3, labels, 1, NULL);

  g_assert_nonnull (find (a, QR_MISTAKE_MISSING));
  g_assert_nonnull (find (b, QR_MISTAKE_MISSING));
  g_assert_cmpfloat (find (b, QR_MISTAKE_MISSING)->score, <, find (a, QR_MISTAKE_MISSING)->score);
}

/* The baselines, on cases worked out from their formulas (see qr-peers.h). */
static void
test_baseline_fiftyone (void)
{
  QrPeerBox boxes[] = {
    { 0, CAT, 0.8f, 0, 0, 100, 100 },        /* over label 1 (a dog): another class */
    { 0, DOG, 0.8f, 300, 0, 400, 100 },      /* over label 2 at IoU 0.6 */
    { 0, DOG, 0.97f, 600, 600, 700, 700 },   /* no label: possibly missing */
  };
  QrLabelBox labels[] = {
    { 1, DOG, 0, 0, 100, 100 },
    { 2, DOG, 300, 0, 400, 60 },              /* 100 × 60 inside 100 × 100: IoU 0.6 */
    { 3, DOG, 900, 900, 950, 950 },           /* nothing there: possibly spurious */
  };
  g_autoptr (GArray) m = qr_baseline_fiftyone (boxes, 3, labels, 3, NULL);

  g_assert_cmpuint (m->len, ==, 4);
  for (guint i = 0; i < m->len; i++)
    {
      QrMistake *x = &g_array_index (m, QrMistake, i);
      if (x->label_id == 1)
        assert_near (x->score, (1 + 0.8f) / 2);
      else if (x->label_id == 2)
        assert_near (x->score, (0.8f * (2 * 0.8f - 1) + 1) / 2);   /* i = (1 − 0.6)/0.5 = 0.8 */
      else if (x->label_id == 3)
        assert_near (x->score, 1);
      else
        assert_near (x->score, 0.97f);
    }
}

static void
test_baseline_objectlab (void)
{
  QrPeerBox boxes[] = {
    { 0, DOG, 0.5f, 0, 0, 100, 100 },
    { 0, CAT, 0.99f, 300, 0, 400, 100 },
  };
  QrLabelBox labels[] = {
    { 1, DOG, 0, 0, 100, 100 },    /* a same-class prediction exactly there: quality 1, mistake 0 */
    { 2, DOG, 300, 0, 400, 100 },  /* a confident cat exactly there (swap quality min_s) and no dog
                                      near (bad-location quality ≈ 0): mistake ≈ 1 */
  };
  g_autoptr (GArray) m = qr_baseline_objectlab (boxes, 2, labels, 2, NULL);

  for (guint i = 0; i < m->len; i++)
    {
      QrMistake *x = &g_array_index (m, QrMistake, i);
      if (x->label_id == 1)
        assert_near (x->score, 0);
      else if (x->label_id == 2)
        g_assert_cmpfloat (x->score, >=, 1 - 1e-3f);
      else
        assert_near (x->score, 1 - 1e-3f * (1 - 0.99f)); /* overlooked cat: no cat label → quality min_s · (1 − p) */
    }
}

/* Average precision on cases worked out by hand (COCO's 101-point interpolation). */
static void
test_eval (void)
{
  QrLabelBox labels[] = { { 1, DOG, 0, 0, 10, 10 }, { 2, DOG, 20, 0, 30, 10 }, { 3, CAT, 40, 0, 50, 10 },
                          { 4, DOG, 60, 0, 70, 10 } };
  /* Dogs: two found with the top scores, then a false positive, one dog never found. */
  QrPeerBox boxes[] = {
    { 0, DOG, 0.9f, 0, 0, 10, 10 },
    { 0, DOG, 0.8f, 20, 0, 30, 11 },       /* IoU 10/11 */
    { 0, DOG, 0.7f, 100, 100, 110, 110 },  /* nothing there */
    { 0, CAT, 0.6f, 40, 0, 50, 10 },
  };
  QrEvalImage image = { boxes, 4, labels, 4 };
  QrEvalImage twin = { boxes, 3, labels, 4 };   /* the same model without its cat */
  g_autoptr (GArray) e = qr_evaluate (&image, 1, 0.5f);
  QrClassEval *dog = &g_array_index (e, QrClassEval, 0), *cat = &g_array_index (e, QrClassEval, 1);

  g_assert_cmpuint (e->len, ==, 2);
  g_assert_cmpint (dog->class_id, ==, DOG);
  g_assert_cmpuint (dog->n_labels, ==, 3);
  /* precision 1 up to recall 2/3 (67 of the 101 points: r = 0, 0.01 … 0.66), none beyond */
  assert_near ((float) dog->ap50, 67.0f / 101);
  assert_near ((float) dog->precision, 2.0f / 3);
  assert_near ((float) dog->recall, 2.0f / 3);
  assert_near ((float) cat->ap50, 1);
  /* At IoU 0.95 the second dog (IoU 0.91) no longer counts. */
  assert_near ((float) qr_average_precision (&image, 1, DOG, 0.95f), 34.0f / 101);
  /* Agreement: the twin finds 3 of the full model's 4 boxes; the full one finds all of the twin's. */
  assert_near ((float) qr_peer_agreement (&image, &twin, 1, 0.5f), 0.75f);
  assert_near ((float) qr_peer_agreement (&twin, &image, 1, 0.5f), 1.0f);
}

static void
test_kind_names (void)
{
  QrMistakeKind kind;
  for (int k = QR_MISTAKE_MODEL; k <= QR_MISTAKE_POORLY_LOCATED; k++)
    {
      g_assert_true (qr_mistake_kind_from_string (qr_mistake_kind_to_string (k), &kind));
      g_assert_cmpint (kind, ==, k);
    }
  g_assert_false (qr_mistake_kind_from_string ("nonsense", &kind));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/peers/agreement-is-quiet", test_agreement_is_quiet);
  g_test_add_func ("/peers/model-mistake", test_model_mistake);
  g_test_add_func ("/peers/abstaining-peer", test_abstaining_peer);
  g_test_add_func ("/peers/label/missing", test_missing_label);
  g_test_add_func ("/peers/label/spurious", test_spurious_label);
  g_test_add_func ("/peers/label/wrong-class", test_wrong_class);
  g_test_add_func ("/peers/label/poorly-located", test_poorly_located);
  g_test_add_func ("/peers/label/slid-off-is-one-item", test_slid_label_is_one_item);
  g_test_add_func ("/peers/disagreement-weakens-consensus", test_disagreement_weakens);
  g_test_add_func ("/peers/kind-names", test_kind_names);
  g_test_add_func ("/peers/baselines/fiftyone", test_baseline_fiftyone);
  g_test_add_func ("/peers/baselines/objectlab", test_baseline_objectlab);
  g_test_add_func ("/peers/eval/ap-precision-recall-agreement", test_eval);
  return g_test_run ();
}
