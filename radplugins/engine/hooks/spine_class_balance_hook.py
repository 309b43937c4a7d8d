"""Set SpineNet's class-balance weights once from the training set."""
import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class SpineClassBalanceHook(Hook):
    """Before training, compute ``alpha_c = 1 / freq(c)`` per task from the
    training set's labels (missing labels not counted) and store them in
    the model's class-weight buffers (saved with checkpoints).

    The training dataset must provide ``task_label_array()`` and the model
    ``set_class_frequencies()`` (SpineDiscDataset and
    SpineMultiTaskClassifier do).
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        while not hasattr(dataset, 'task_label_array') and hasattr(
                dataset, 'dataset'):
            dataset = dataset.dataset  # dataset wrappers
        if not hasattr(dataset, 'task_label_array'):
            raise TypeError(f'{type(dataset).__name__} has no '
                            'task_label_array(); SpineClassBalanceHook '
                            'needs a SpineDiscDataset')
        labels = dataset.task_label_array()
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model.set_class_frequencies(labels)
        for task in model.tasks:
            weights = model.class_weights(task).cpu().numpy()
            print_log(
                f'class-balance weights {task}: '
                f'{np.array2string(weights, precision=2)}',
                logger='current')
