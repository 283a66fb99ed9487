"""Augmentations move keypoints with the image; the flip swaps left/right by the spec."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.train

torch = pytest.importorskip("torch")

from kpconv.train.transforms import (  # noqa: E402
    DROP_COUNTS,
    Finalize,
    HorizontalFlip,
    Pipeline,
    ScaleJitter,
    decode_rgb,
    describe_dropped,
    make_sample,
    to_target,
    train_pipeline,
)

W, H = 64, 48
RED, BLUE = (255, 0, 0), (0, 0, 255)
# keypoints: 0 = head (centre), 1 = left_hand, 2 = right_hand; flip pairs (left_hand, right_hand)
PERMS = [[0, 1, 2], [0, 2, 1]]


def _synthetic() -> tuple[torch.Tensor, np.ndarray]:
    """A black image with a red block on the left hand (x=10, y=20) and a blue one on the right (x=50, y=30)."""
    img = np.zeros((H, W, 3), np.uint8)
    img[19:22, 9:12] = RED
    img[29:32, 49:52] = BLUE
    kps = np.array([[[30, 22, 2], [10, 20, 1], [50, 30, 2]]], np.float32)
    return torch.from_numpy(img).permute(2, 0, 1).contiguous(), kps


def _colour_at(image: torch.Tensor, x: float, y: float) -> tuple[int, ...]:
    return tuple(int(c) for c in image[:, int(round(y)), int(round(x))])


def test_flip_puts_the_left_point_where_the_right_one_was():
    image, kps = _synthetic()
    assert _colour_at(image, 10, 20) == RED and _colour_at(image, 50, 30) == BLUE
    sample = make_sample(image, np.array([[5, 5, 60, 40]], np.float32), np.array([1]), kps)
    out = HorizontalFlip(PERMS, p=1.0)(sample)
    img, target = to_target(Finalize()(out))
    left, right = target["keypoints"][0, 1], target["keypoints"][0, 2]
    # Mirrored, the right hand (blue, x=50) is now on the left side of the picture: it is the
    # new left hand, at the mirrored position of the old right one, with the old right's visibility.
    assert left.tolist() == [W - 1 - 50, 30, 2]
    assert right.tolist() == [W - 1 - 10, 20, 1]
    assert _colour_at(img, *left[:2].tolist()) == BLUE
    assert _colour_at(img, *right[:2].tolist()) == RED
    assert target["keypoints"][0, 0].tolist() == [W - 1 - 30, 22, 2]  # the centre point stays
    assert target["boxes"][0].tolist() == [W - 60, 5, W - 5, 40]
    flipped_twice = HorizontalFlip(PERMS, p=1.0)(out)
    assert torch.equal(flipped_twice["keypoints"].as_subclass(torch.Tensor), torch.as_tensor(kps[..., :2]))
    assert torch.equal(flipped_twice["visibility"], torch.as_tensor(kps[..., 2]))


def test_flip_permutation_is_per_label():
    image, kps = _synthetic()
    two = np.concatenate([kps, kps])
    perms = [[0, 1, 2], [0, 2, 1], [0, 1, 2]]  # label 2: a category declared symmetric
    sample = make_sample(image, np.array([[5, 5, 60, 40]] * 2, np.float32), np.array([1, 2]), two)
    out = to_target(HorizontalFlip(perms, p=1.0)(sample))[1]["keypoints"]
    assert out[0, 1, 0] == W - 1 - 50  # label 1 swapped
    assert out[1, 1, 0] == W - 1 - 10  # label 2 only mirrored


def test_points_pushed_out_of_the_image_become_invisible():
    image, kps = _synthetic()
    sample = make_sample(image, np.array([[5, 5, 60, 40]], np.float32), np.array([1]), kps)
    torch.manual_seed(0)
    out = Pipeline([ScaleJitter(scale=(3.0, 3.0), translate=0.0)])(sample)
    _, target = to_target(out)
    kp = target["keypoints"][0]
    # Zoomed 3x about the centre (32, 24): x=10 -> -34 and x=50 -> 86 leave the 64 px image,
    # the head (30, 22) -> (26, 18) stays.
    assert kp[1].tolist() == [0, 0, 0] and kp[2].tolist() == [0, 0, 0]
    assert kp[0, 2] == 2 and 0 <= kp[0, 0] < W and 0 <= kp[0, 1] < H
    box = target["boxes"][0]
    assert box[0] >= 0 and box[1] >= 0 and box[2] <= W and box[3] <= H


def _counts(**nonzero: int) -> dict[str, int]:
    return {k: nonzero.get(k, 0) for k in DROP_COUNTS}


def test_points_pushed_out_are_counted_and_those_kept_inside_are_not():
    image, kps = _synthetic()
    sample = make_sample(image, np.array([[5, 5, 60, 40]], np.float32), np.array([1]), kps)
    assert sample["dropped"] == _counts()
    zoom = Pipeline([ScaleJitter(scale=(3.0, 3.0), translate=0.0)])(sample, seed=0)
    # the two hands leave the 64 px image (see above), the head stays: 2 pushed out, no instance lost
    assert zoom["dropped"] == _counts(keypoints_pushed_out=2)
    assert int((zoom["visibility"] > 0).sum()) == 1
    # a flip and photometric jitter keep every point inside: nothing counted
    kept = train_pipeline(PERMS, flip_prob=1.0, scale=(1.0, 1.0), translate=0.0)(sample, seed=0)
    assert kept["dropped"] == _counts() and kept["visibility"].tolist() == [[2, 2, 1]]
    assert describe_dropped(kept["dropped"]) == ""
    assert "2 visible keypoint(s) and 0 instance(s)" in describe_dropped(zoom["dropped"])


def test_instances_pushed_out_or_left_without_keypoints_are_counted():
    image, _ = _synthetic()
    # instance 0: a box on the right edge with 2 visible points there (and one v=0);
    # instance 1: a box spanning the image with its one visible point on the right edge
    kps = np.array([[[58, 20, 2], [60, 30, 1], [10, 10, 0]],
                    [[62, 24, 2], [0, 0, 0], [0, 0, 0]]], np.float32)
    boxes = np.array([[56, 10, 63, 40], [2, 2, 63, 46]], np.float32)
    sample = make_sample(image, boxes, np.array([1, 1]), kps)
    shift = ScaleJitter(scale=(1.0, 1.0), translate=0.5)
    # a shift right by 10 px or more: instance 0's box leaves the image (dropped, with its 2
    # visible points); instance 1 keeps a box but its only visible point leaves the image
    seed = next(s for s in range(100) if _shift_x(shift, s, sample) >= 10)
    out = Pipeline([shift])(sample, seed=seed)
    assert out["labels"].tolist() == [1] and out["visibility"].tolist() == [[0, 0, 0]]
    assert out["dropped"] == _counts(keypoints_pushed_out=3, instances_pushed_out=1,
                                     instances_lost_keypoints=1)
    # no augmentation: nothing leaves the image
    assert Pipeline([])(sample)["dropped"] == _counts()


def _shift_x(step: ScaleJitter, seed: int, sample: dict) -> int:
    """The x shift ``step`` draws from ``seed``: where the left edge of the last box (x = 2) went."""
    moved = Pipeline([step])(sample, seed=seed)["boxes"].as_subclass(torch.Tensor)
    return round(float(moved[-1, 0])) - 2


def test_counting_draws_no_random_number():
    image, kps = _synthetic()
    sample = make_sample(image, np.array([[5, 5, 60, 40]], np.float32), np.array([1]), kps)
    torch_before, np_before = torch.get_rng_state(), np.random.get_state()[1].copy()
    Finalize()(Pipeline([ScaleJitter(scale=(3.0, 3.0), translate=0.0)])(sample, seed=3))
    assert torch.equal(torch.get_rng_state(), torch_before)
    assert np.array_equal(np.random.get_state()[1], np_before)


def test_points_on_the_last_pixel_edge_are_kept_as_the_validator_accepts_them():
    image, _ = _synthetic()
    # the validator accepts 0 <= x <= W, 0 <= y <= H; the pixel grid ends at W - 1, H - 1
    kps = np.array([[[W - 0.5, 10, 2], [W, H - 0.25, 1], [10, H, 2], [W + 0.5, 10, 2]]], np.float32)
    sample = make_sample(image, np.array([[0, 0, W, H]], np.float32), np.array([1]), kps)
    _, target = to_target(Pipeline([])(sample))  # no augmentation: nothing may be dropped
    assert target["keypoints"][0, :3].tolist() == [[W - 1, 10, 2], [W - 1, H - 1, 1], [10, H - 1, 2]]
    # outside the validator's rule (it warns): out of the image, v = 0 as before, counted apart
    # (it was not the augmentation that pushed it out)
    assert target["keypoints"][0, 3].tolist() == [0, 0, 0]
    assert Pipeline([])(sample)["dropped"] == _counts(keypoints_outside_image=1)
    # mirrored, the edge points land on the first column, still in the image
    flipped = to_target(Pipeline([HorizontalFlip([[0, 1, 2, 3], [0, 1, 2, 3]], p=1.0)])(sample))[1]
    assert flipped["keypoints"][0, :3].tolist() == [[0, 10, 2], [0, H - 1, 1], [W - 11, H - 1, 2]]


def test_a_seeded_pipeline_repeats_itself_and_leaves_the_generator_alone():
    image, kps = _synthetic()
    pipe = train_pipeline(PERMS, flip_prob=0.5)

    def run(seed):
        sample = make_sample(image, np.array([[5, 5, 60, 40]], np.float32), np.array([1]), kps)
        img, target = to_target(pipe(sample, seed))
        return img, target["keypoints"]

    before = torch.get_rng_state()
    a, b = run(7), run(7)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert any(not torch.equal(a[1], run(s)[1]) for s in range(8, 12))


def test_instances_whose_box_vanishes_are_dropped():
    image, kps = _synthetic()
    boxes = np.array([[5, 5, 60, 40], [70, 5, 80, 10]], np.float32)  # second box is off-image
    sample = make_sample(image, boxes, np.array([1, 1]), np.concatenate([kps, kps]))
    _, target = to_target(Finalize()(sample))
    assert target["boxes"].shape == (1, 4) and target["keypoints"].shape == (1, 3, 3)
    assert target["labels"].tolist() == [1]


def test_negative_image_passes_through_every_transform():
    image, _ = _synthetic()
    empty = np.zeros((0, 3, 3), np.float32)
    sample = make_sample(image, np.zeros((0, 4), np.float32), np.zeros((0,), np.int64), empty)
    _, target = to_target(train_pipeline(PERMS, flip_prob=1.0)(sample))
    assert target["boxes"].shape == (0, 4) and target["keypoints"].shape == (0, 3, 3)


def test_no_flip_without_a_permutation():
    assert not any(isinstance(s, HorizontalFlip) for s in train_pipeline(None).steps)
    assert any(isinstance(s, HorizontalFlip) for s in train_pipeline(PERMS).steps)


@pytest.mark.parametrize("name", ["c04.png", "c05.png", "c00.png"])  # grayscale, palette, RGB
def test_decode_is_rgb_whatever_the_mode(tf, name):
    path = tf.images / name
    got = decode_rgb(path)
    with Image.open(path) as im:
        want = torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1)
    assert got.dtype == torch.uint8 and got.shape == want.shape
    assert torch.equal(got, want)


def test_decode_jpeg_and_16_bit(tf, tmp_path):
    jpeg = decode_rgb(tf.images / "c03.jpg")
    assert jpeg.shape == (3, 96, 112) and jpeg.dtype == torch.uint8
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((6, 8), 4000, np.uint16)).save(deep)
    img = decode_rgb(deep)
    assert img.shape == (3, 6, 8) and int(img.max()) == 255  # scaled, not clipped to 255 everywhere
