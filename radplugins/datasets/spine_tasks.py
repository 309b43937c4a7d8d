"""The spine grading tasks: names, class counts, grades, which tasks have
lesions, and the disc geometry.

The one definition that the SpineNet model, its metrics, the spine
dataset and transforms, the tools and the synthetic spine generator
import. The generator imports it, never the other way round: models,
metrics and the real dataset do not import ``datasets/synthetic/``.
"""
from typing import Dict

#: Disc levels of the lumbar spine, top to bottom.
DISC_LEVELS = ('T12-L1', 'L1-L2', 'L2-L3', 'L3-L4', 'L4-L5', 'L5-S1')
#: The six radiological scores, in the model's (and the CSV's) order.
SPINE_TASKS = ('pfirrmann', 'narrowing', 'upper_endplate', 'lower_endplate',
               'upper_marrow', 'lower_marrow')
#: Classes of each task: Pfirrmann 1-5, narrowing 0-3, the rest 0/1.
SPINE_NUM_CLASSES = (5, 4, 2, 2, 2, 2)
#: The grade a CSV writes for class index 0 of each task: Pfirrmann is
#: graded 1-5, the others from 0. Class index + first grade = CSV grade.
SPINE_FIRST_GRADES = (1, 0, 0, 0, 0, 0)
#: The binary tasks whose finding is a localised lesion (an endplate
#: defect or a marrow change): the tasks with evidence hotspots and, in
#: the synthetic set, lesion masks (stored in this order).
LESION_TASKS = ('upper_endplate', 'lower_endplate', 'upper_marrow',
                'lower_marrow')
#: In-plane size of a disc volume's slices, in pixels.
DISC_HEIGHT, DISC_WIDTH = 112, 224

_FIRST_GRADE: Dict[str, int] = dict(zip(SPINE_TASKS, SPINE_FIRST_GRADES))


def first_grade(task: str) -> int:
    """The grade a spine CSV writes for class index 0 of ``task``.

    Class index ``c`` of a task is grade ``c + first_grade(task)`` in
    ``discs.csv`` (Pfirrmann 1-5, the other tasks from 0). A task the CSV
    format does not define counts from 0.

    Args:
        task (str): A task name.

    Returns:
        int: 1 for Pfirrmann, else 0.
    """
    return _FIRST_GRADE.get(task, 0)


__all__ = [
    'DISC_HEIGHT', 'DISC_LEVELS', 'DISC_WIDTH', 'LESION_TASKS',
    'SPINE_FIRST_GRADES', 'SPINE_NUM_CLASSES', 'SPINE_TASKS', 'first_grade'
]
