"""Decode every training and validation file before the first epoch."""
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS

from radplugins.datasets.dataset_check import (check_dataset,
                                               format_bad_samples)


@HOOKS.register_module()
class CheckDatasetHook(Hook):
    """Before training starts, load every file of the training and
    validation sets once with their pipelines' loading step, and stop with
    one error that lists every file that fails, with its CSV row.

    Without it, a corrupt training image stops training when its batch
    comes, and a corrupt validation image only after a whole epoch. The
    check reads every file once (on MURA's 40,000 radiographs, minutes), so
    it is opt-in: add it to a config with ::

        custom_hooks = [dict(type='CheckDatasetHook')]

    or pass ``--check-data`` to ``tools/train.py``. ``tools/misc/
    check_dataset.py`` runs the same check without training.

    Args:
        check_val (bool): Also check the validation set. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_val: bool = True) -> None:
        self.check_val = check_val

    def before_train(self, runner) -> None:
        """Check the datasets; raise if any file cannot be loaded.

        Args:
            runner: The runner, with its loops built.

        Raises:
            OSError: Listing every bad file of both sets.
        """
        sets = [('train', runner.train_dataloader.dataset)]
        val_loop = runner.val_loop if self.check_val else None
        if val_loop is not None and hasattr(val_loop, 'dataloader'):
            sets.append(('val', val_loop.dataloader.dataset))
        messages = []
        for name, dataset in sets:
            bad = check_dataset(dataset)
            print_log(
                f'CheckDatasetHook: {name}: {len(dataset)} sample(s) '
                f'checked, {len(bad)} file(s) cannot be loaded',
                logger='current')
            if bad:
                messages.append(format_bad_samples(bad, name))
        if messages:
            raise OSError('CheckDatasetHook: fix or remove these files '
                          'before training (skip_corrupt=True leaves out '
                          'empty and truncated ones):\n' +
                          '\n'.join(messages))
