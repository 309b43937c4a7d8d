"""Read DICOM radiographs as display intensities (one reader for the
training pipeline and inference)."""
import io
from typing import Optional, Tuple

import numpy as np

DICOM_EXTENSIONS = ('.dcm', '.dicom')
_VOI_FUNCTIONS = ('LINEAR', 'LINEAR_EXACT', 'SIGMOID')
_DICOM_MAGIC_OFFSET = 128


def has_dicom_preamble(path: str) -> bool:
    """Whether a file carries the DICOM Part 10 ``DICM`` marker.

    Args:
        path (str): A file.

    Returns:
        bool: True if bytes 128-131 are ``b'DICM'``.
    """
    try:
        with open(path, 'rb') as f:
            f.seek(_DICOM_MAGIC_OFFSET)
            return f.read(4) == b'DICM'
    except OSError:
        return False


def is_dicom_file(path: str) -> bool:
    """Whether ``path`` should be read as DICOM (extension or marker)."""
    return path.lower().endswith(DICOM_EXTENSIONS) or has_dicom_preamble(path)


def is_dicom_content(path: str, content: bytes) -> bool:
    """:func:`is_dicom_file` of a file already read into ``content``."""
    return path.lower().endswith(DICOM_EXTENSIONS) or content[
        _DICOM_MAGIC_OFFSET:_DICOM_MAGIC_OFFSET + 4] == b'DICM'


def apply_window(values: np.ndarray,
                 center: float,
                 width: float,
                 function: str = 'LINEAR',
                 out_range: Tuple[float, float] = (0.0, 255.0)) -> np.ndarray:
    """A DICOM VOI window (PS3.3 C.11.2.1.2) mapped to ``out_range``.

    pydicom's ``apply_windowing`` does the arithmetic, onto an 8-bit range
    that is then scaled to ``out_range``. ``LINEAR`` is the standard's
    default: values up to ``center - 0.5 - (width - 1) / 2`` give the
    minimum, values above ``center - 0.5 + (width - 1) / 2`` the maximum,
    and in between ``((x - (center - 0.5)) / (width - 1) + 0.5)`` scales
    linearly. ``LINEAR_EXACT`` drops the half-pixel terms and ``SIGMOID``
    is ``1 / (1 + exp(-4 (x - center) / width))``.

    Args:
        values (np.ndarray): Modality values (after rescale slope and
            intercept).
        center (float): Window center.
        width (float): Window width (>= 1 for ``LINEAR``, > 0 otherwise).
        function (str): ``'LINEAR'``, ``'LINEAR_EXACT'`` or ``'SIGMOID'``.
        out_range (tuple[float, float]): Output minimum and maximum.

    Returns:
        np.ndarray: float64 array of ``values``' shape.

    Raises:
        ValueError: If ``function`` is not one of the three, or ``width``
            is out of its range (the message names the value).
    """
    from pydicom.dataset import Dataset
    from pydicom.pixels import apply_windowing
    from pydicom.valuerep import DSfloat

    function = (function or 'LINEAR').upper()
    if function not in _VOI_FUNCTIONS:
        raise ValueError(f'unknown VOI LUT function {function!r}; expected '
                         "'LINEAR', 'LINEAR_EXACT' or 'SIGMOID'")
    if function == 'LINEAR' and width < 1:
        raise ValueError(f'LINEAR window width must be >= 1, got {width}')
    if function != 'LINEAR' and width <= 0:
        raise ValueError(f'{function} window width must be > 0, got '
                         f'{width}')
    # A VOI module of its own: its unsigned 8-bit stored range is the
    # window's output range, whatever the image's bit depth.
    voi = Dataset()
    voi.PhotometricInterpretation = 'MONOCHROME2'
    voi.BitsStored = 8
    voi.PixelRepresentation = 0
    voi.WindowCenter = DSfloat(float(center), auto_format=True)
    voi.WindowWidth = DSfloat(float(width), auto_format=True)
    voi.VOILUTFunction = function
    out = apply_windowing(np.asarray(values, dtype=np.float64), voi)
    lo, hi = out_range
    if (lo, hi) == (0.0, 255.0):
        return out
    return lo + (hi - lo) / 255.0 * out


def _first_value(value) -> float:
    """The first of a possibly multi-valued DICOM number."""
    if isinstance(value, (list, tuple)) or (hasattr(value, '__len__')
                                            and not isinstance(value, str)):
        value = value[0]
    return float(value)


def _min_max(values: np.ndarray) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.zeros_like(values, dtype=np.float64)
    return (values - lo) * (255.0 / (hi - lo))


def read_dicom(path: str, content: Optional[bytes] = None) -> np.ndarray:
    """Read a single-frame DICOM radiograph as display intensities.

    Grayscale images go through the standard's pipeline: modality LUT
    (``RescaleSlope``/``RescaleIntercept``, or a Modality LUT Sequence),
    then VOI (the first ``WindowCenter``/``WindowWidth`` with its
    ``VOILUTFunction``; else a VOI LUT Sequence followed by min-max; else
    min-max of the modality values) onto [0, 255], and finally
    ``MONOCHROME1`` is inverted so that bone is bright as in
    ``MONOCHROME2``. Colour images (RGB, or YBR converted to RGB by
    pydicom) are scaled from their bit depth to [0, 255] and returned BGR.

    Args:
        path (str): The DICOM file (named in errors).
        content (bytes, optional): The file's bytes, when already read
            (e.g. from a file backend); ``path`` is then not opened.

    Returns:
        np.ndarray: float32 in [0, 255], ``(H, W)`` or ``(H, W, 3)`` BGR.

    Raises:
        ValueError: If the file holds no pixels, several frames or an
            unsupported photometric interpretation.
        OSError: If pydicom cannot read or decode it.
    """
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    force = path.lower().endswith(DICOM_EXTENSIONS)
    try:
        ds = pydicom.dcmread(
            path if content is None else io.BytesIO(content), force=force)
    except Exception as exc:  # pydicom raises many types for bad files
        raise OSError(f'{path}: not a readable DICOM file ({exc})') from exc
    if 'PixelData' not in ds:
        raise ValueError(f'{path}: DICOM file has no pixel data')
    frames = int(ds.get('NumberOfFrames', 1) or 1)
    if frames > 1:
        raise ValueError(f'{path}: multi-frame DICOM ({frames} frames) is not '
                         'a single radiograph')
    try:
        arr = ds.pixel_array
    except Exception as exc:
        syntax = getattr(ds, 'file_meta', {}).get('TransferSyntaxUID', '?')
        raise OSError(f'{path}: cannot decode DICOM pixel data (transfer '
                      f'syntax {syntax}; {exc})') from exc
    photometric = str(ds.get('PhotometricInterpretation', 'MONOCHROME2'))
    if photometric in ('MONOCHROME1', 'MONOCHROME2'):
        if arr.ndim != 2:
            raise ValueError(f'{path}: expected a 2-D grayscale image, got '
                             f'pixel array of shape {arr.shape}')
        if 'ModalityLUTSequence' in ds:
            values = np.asarray(apply_modality_lut(arr, ds), np.float64)
        else:
            slope = _first_value(ds.get('RescaleSlope', 1.0) or 1.0)
            intercept = _first_value(ds.get('RescaleIntercept', 0.0) or 0.0)
            values = arr.astype(np.float64) * slope + intercept
        center = ds.get('WindowCenter')
        width = ds.get('WindowWidth')
        if center is not None and width is not None:
            out = apply_window(values, _first_value(center),
                               _first_value(width),
                               str(ds.get('VOILUTFunction', 'LINEAR')))
        elif 'VOILUTSequence' in ds:
            out = _min_max(np.asarray(apply_voi_lut(values, ds), np.float64))
        else:
            out = _min_max(values)
        if photometric == 'MONOCHROME1':
            out = 255.0 - out
        return out.astype(np.float32)
    if photometric == 'RGB' or photometric.startswith('YBR'):
        if arr.ndim != 3 or arr.shape[-1] != 3:
            raise ValueError(f'{path}: expected an (H, W, 3) colour image, '
                             f'got pixel array of shape {arr.shape}')
        bits = int(ds.get('BitsStored', 8) or 8)
        rgb = arr.astype(np.float32) * (255.0 / (2**bits - 1))
        return np.ascontiguousarray(np.clip(rgb, 0, 255)[..., ::-1])
    raise ValueError(f'{path}: unsupported photometric interpretation '
                     f'{photometric!r}')


def dicom_to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """Give :func:`read_dicom`'s output ``channels`` channels.

    Args:
        img (np.ndarray): ``(H, W)`` or ``(H, W, 3)`` BGR, in [0, 255].
        channels (int): 1 (``(H, W)``) or 3 (``(H, W, 3)``).

    Returns:
        np.ndarray: float32 in [0, 255].
    """
    if channels == 3 and img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    elif channels == 1 and img.ndim == 3:
        # BGR to gray with ITU-R 601 weights, as cv2.cvtColor does.
        img = img @ np.array([0.114, 0.587, 0.299], np.float32)
    return np.ascontiguousarray(img, dtype=np.float32)


__all__ = [
    'DICOM_EXTENSIONS', 'apply_window', 'dicom_to_channels',
    'has_dicom_preamble', 'is_dicom_content', 'is_dicom_file', 'read_dicom'
]
