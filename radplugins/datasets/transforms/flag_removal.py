"""Fill marker ("flag") regions from their surroundings (paper §IV-B2).

Blanking a marker's box leaves a sharp-edged patch that a classifier can
learn just as well as the marker; the paper proposes filling it with the
mean of the surrounding pixels instead. Two fills are offered: the mean of
a ring around the region (``'ring_mean'``) and OpenCV's Telea inpainting
(``'telea'``), which continues the surrounding gradients inward.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ...utils.json_files import read_json

FILL_METHODS = ('ring_mean', 'telea')


def regions_to_mask(regions: Sequence[dict], shape: Tuple[int, int],
                    margin: int = 0, where: str = '<regions>') -> np.ndarray:
    """Rasterise flag regions into a boolean mask.

    Args:
        regions (Sequence[dict]): Each with a ``polygon`` (list of flat
            ``[x, y, ...]`` rings, COCO style) or, if it has none, a
            ``bbox`` ``[x1, y1, x2, y2]``, in pixels of the image.
        shape (tuple[int, int]): Image ``(height, width)``.
        margin (int): Grow the mask by this many pixels, to cover the
            anti-aliased rim a marker leaves around its outline.
        where (str): Name of the image in error messages.

    Returns:
        np.ndarray: ``(H, W)`` bool mask.
    """
    height, width = shape
    mask = np.zeros((height, width), np.uint8)
    for k, region in enumerate(regions):
        polygon = region.get('polygon')
        if polygon:
            for ring in polygon:
                pts = np.asarray(ring, np.float64).reshape(-1, 2)
                cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
        elif region.get('bbox') is not None:
            x1, y1, x2, y2 = (float(v) for v in region['bbox'])
            if not (x1 <= x2 and y1 <= y2):
                raise ValueError(f'{where}: region {k} has an invalid box '
                                 f'{region["bbox"]}')
            x1, y1 = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
            x2 = min(width, int(np.ceil(x2)))
            y2 = min(height, int(np.ceil(y2)))
            mask[y1:y2, x1:x2] = 1
        else:
            raise ValueError(f'{where}: region {k} has neither a polygon '
                             f'nor a bbox: {region!r}')
    if margin > 0 and mask.any():
        size = 2 * margin + 1
        mask = cv2.dilate(mask, np.ones((size, size), np.uint8))
    return mask.astype(bool)


def scale_regions(regions: Sequence[dict], scale: Tuple[float,
                                                      float]) -> List[dict]:
    """Regions given in a file's pixels, in those of its loaded copy.

    Args:
        regions (Sequence[dict]): As :func:`regions_to_mask` takes them.
        scale (tuple[float, float]): ``(sx, sy)``, loaded pixels per file
            pixel (``LoadRadiograph``'s ``load_scale``).

    Returns:
        list[dict]: Copies with ``bbox`` and ``polygon`` scaled.
    """
    sx, sy = (float(v) for v in scale)
    scaled = []
    for region in regions:
        region = dict(region)
        if region.get('bbox') is not None:
            x1, y1, x2, y2 = (float(v) for v in region['bbox'])
            region['bbox'] = [x1 * sx, y1 * sy, x2 * sx, y2 * sy]
        if region.get('polygon'):
            region['polygon'] = [[
                float(v) * (sx if i % 2 == 0 else sy)
                for i, v in enumerate(ring)
            ] for ring in region['polygon']]
        scaled.append(region)
    return scaled


def ring_of(mask: np.ndarray, width: int) -> np.ndarray:
    """The pixels within ``width`` of ``mask`` (square neighbourhood) that
    are not in it."""
    size = 2 * width + 1
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((size, size),
                                                      np.uint8)).astype(bool)
    return grown & ~mask


def fill_regions(img: np.ndarray,
                 mask: np.ndarray,
                 method: str = 'ring_mean',
                 ring_width: int = 5,
                 inpaint_radius: float = 3.0) -> np.ndarray:
    """Fill the pixels of ``mask`` from their surroundings.

    Every pixel outside ``mask`` is returned unchanged.

    Args:
        img (np.ndarray): ``(H, W)`` or ``(H, W, C)`` image of any dtype.
        mask (np.ndarray): ``(H, W)`` bool mask of the pixels to fill.
        method (str): ``'ring_mean'``: each connected region gets, per
            channel, the mean of the ring of ``ring_width`` pixels around
            it; ``'telea'``: OpenCV's Telea inpainting.
        ring_width (int): Ring width in pixels (``'ring_mean'``).
        inpaint_radius (float): Neighbourhood radius of the inpainting
            (``'telea'``).

    Returns:
        np.ndarray: A filled copy of the same shape and dtype.
    """
    if method not in FILL_METHODS:
        raise ValueError(f'method must be one of {FILL_METHODS}, got '
                         f'{method!r}')
    if mask.shape != img.shape[:2]:
        raise ValueError(f'mask shape {mask.shape} does not match image '
                         f'shape {img.shape[:2]}')
    out = img.copy()
    if not mask.any():
        return out
    if method == 'ring_mean':
        # Each marker is filled from its own surroundings.
        n_labels, labels = cv2.connectedComponents(mask.astype(np.uint8), 8)
        for label in range(1, n_labels):
            region = labels == label
            ring = ring_of(region, ring_width)
            if not ring.any():
                # The region covers the whole image: nothing to fill from.
                continue
            value = img[ring].astype(np.float64).mean(axis=0)
            if np.issubdtype(img.dtype, np.integer):
                info = np.iinfo(img.dtype)
                value = np.clip(np.round(value), info.min, info.max)
            out[region] = value.astype(img.dtype)
        return out
    # cv2.inpaint takes 8-bit 1/3-channel, 16-bit or float 1-channel
    # images: fill other layouts channel by channel in float32.
    mask8 = mask.astype(np.uint8)
    if img.dtype == np.uint8 and (img.ndim == 2 or img.shape[2] in (1, 3)):
        filled = cv2.inpaint(img, mask8, inpaint_radius, cv2.INPAINT_TELEA)
        filled = filled.reshape(img.shape)
    else:
        planes = img.astype(np.float32).reshape(img.shape[0], img.shape[1],
                                                -1)
        filled = np.stack([
            cv2.inpaint(np.ascontiguousarray(planes[..., c]), mask8,
                        inpaint_radius, cv2.INPAINT_TELEA)
            for c in range(planes.shape[2])
        ], -1).reshape(img.shape)
        if np.issubdtype(img.dtype, np.integer):
            info = np.iinfo(img.dtype)
            filled = np.clip(np.round(filled), info.min, info.max)
        filled = filled.astype(img.dtype)
    out[mask] = filled[mask]
    return out


def load_regions_file(path: str) -> Dict[str, List[dict]]:
    """Read flag regions per image from a JSON file.

    Reads both the synthetic generator's ground truth and the report of
    ``tools/remove_flags.py``: ``{"images": {"<relative image path>":
    {"flags": [{"bbox": [...], "polygon": [[...]]?, ...}]}}}``.

    Args:
        path (str): The JSON file.

    Returns:
        dict: ``relative image path -> list of regions``.
    """
    content = read_json(path)
    images = content.get('images') if isinstance(content, dict) else None
    if not isinstance(images, dict):
        raise ValueError(f'{path}: expected {{"images": {{path: {{"flags": '
                         '[...]}}}}}}')
    regions = {}
    for image, record in images.items():
        flags = record.get('flags') if isinstance(record, dict) else None
        if not isinstance(flags, list):
            raise ValueError(f'{path}: image {image!r} has no "flags" list')
        regions[osp.normpath(image)] = flags
    return regions


@TRANSFORMS.register_module()
class FillFlagRegions(BaseTransform):
    """Remove markers ("flags") by filling their regions (paper §IV-B2).

    Place it right after loading: regions are in the pixels of the image
    file, scaled by ``load_scale`` when the loader shrank the image
    (``LoadRadiograph(max_long_side=...)``). The regions come from
    ``results['flag_regions']`` or, when ``regions_file`` is given, from
    that JSON (the generator's ground truth or ``tools/remove_flags.py``'s
    report), looked up by the image path relative to any of its parent
    folders. An image the file does not list, or a sample without
    ``flag_regions`` when there is no file, is an error, not a silent
    pass: the regions and the data must match.

    Required Keys:

    - img
    - img_path (with ``regions_file``) or flag_regions
    - load_scale (optional)

    Modified Keys:

    - img

    Added Keys:

    - flag_mask (bool ``(H, W)``, the filled pixels)

    Args:
        method (str): ``'ring_mean'`` (the paper's proposal) or
            ``'telea'`` (OpenCV inpainting). Defaults to ``'ring_mean'``.
        margin (int): Pixels added around each region. Defaults to 2.
        ring_width (int): Width of the ring whose mean fills a region.
            Defaults to 5.
        inpaint_radius (float): Telea neighbourhood radius. Defaults to 3.
        regions_file (str, optional): JSON of regions per image.
            Defaults to None (use ``results['flag_regions']``).
    """

    def __init__(self,
                 method: str = 'ring_mean',
                 margin: int = 2,
                 ring_width: int = 5,
                 inpaint_radius: float = 3.0,
                 regions_file: Optional[str] = None) -> None:
        if method not in FILL_METHODS:
            raise ValueError(f'method must be one of {FILL_METHODS}, got '
                             f'{method!r}')
        if margin < 0 or ring_width < 1 or inpaint_radius <= 0:
            raise ValueError('need margin >= 0, ring_width >= 1 and '
                             f'inpaint_radius > 0, got {margin}, '
                             f'{ring_width}, {inpaint_radius}')
        self.method = method
        self.margin = margin
        self.ring_width = ring_width
        self.inpaint_radius = inpaint_radius
        self.regions_file = regions_file
        self.regions = load_regions_file(regions_file) \
            if regions_file is not None else None

    def _lookup(self, img_path: str) -> List[dict]:
        parts = osp.normpath(img_path).split(osp.sep)
        for start in range(len(parts)):
            key = osp.join(*parts[start:])
            if key in self.regions:
                return self.regions[key]
        raise KeyError(f'{self.regions_file}: no entry for image '
                       f'{img_path!r}')

    def transform(self, results: dict) -> dict:
        """Fill the flag regions of ``results['img']``.

        Args:
            results (dict): Result dict with the image.

        Returns:
            dict: The dict with the filled image and ``flag_mask``.
        """
        img = results['img']
        if self.regions is not None:
            regions = self._lookup(results['img_path'])
        elif 'flag_regions' in results:
            regions = results['flag_regions']
        else:
            # Filling nothing here would train a "flags removed" model on
            # the raw images without a word.
            raise KeyError(
                f'FillFlagRegions: {results.get("img_path", "the sample")} '
                "has no 'flag_regions' and no regions_file was given; pass "
                'regions_file, or the dataset its flag report (e.g. '
                'FracAtlasDataset(flag_regions_file=...))')
        if results.get('load_scale') is not None:
            regions = scale_regions(regions, results['load_scale'])
        where = results.get('img_path', '<image>')
        mask = regions_to_mask(regions, img.shape[:2], self.margin, where)
        results['img'] = fill_regions(img, mask, self.method,
                                      self.ring_width, self.inpaint_radius)
        results['flag_mask'] = mask
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(method={self.method!r}, '
                f'margin={self.margin}, ring_width={self.ring_width}, '
                f'inpaint_radius={self.inpaint_radius}, '
                f'regions_file={self.regions_file!r})')
