"""SpineNet Fig. 3 strips."""
import numpy as np
import pytest

from radplugins.visualization import hotspot_strip


def test_layout_and_scaling():
    volume = np.zeros((9, 112, 224), np.float32)
    volume[1] = 1.0
    hotspot = np.zeros_like(volume)
    hotspot[7, 10, 20] = 5.0
    strip = hotspot_strip(volume, hotspot, slices=(1, 7))
    assert strip.shape == (2 * 112 + 4, 2 * 224 + 4, 3)
    assert (strip[:112, :224] == 255).all()  # slice 2 is white
    assert (strip[:112, 228:] == 0).all()  # slice 8 is black
    # The hotspot peak is drawn at its place in the slice-8 panel, hot.
    peak = strip[116 + 10, 228 + 20]
    cold = strip[116 + 50, 228 + 50]
    assert peak.tolist() != cold.tolist()
    with pytest.raises(ValueError, match='slice 9 outside 0..8'):
        hotspot_strip(volume, hotspot, slices=(9, ))
