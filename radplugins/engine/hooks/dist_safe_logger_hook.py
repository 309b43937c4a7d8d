"""A LoggerHook whose test-metric JSON is written by one rank only."""
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class DistSafeLoggerHook(LoggerHook):
    """:class:`LoggerHook` that writes the test metrics JSON on rank 0 only.

    MMEngine 0.10.7's ``LoggerHook.after_test_epoch`` appends the test
    metrics to ``<log_dir>/<timestamp>.json`` on *every* rank. All ranks
    share the log dir, so a distributed test run interleaves their writes
    and leaves a file that is not valid JSON lines. Every rank still logs
    the text line; only the file write is restricted to the main process.
    Everything else is inherited unchanged.
    """

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        """Log the test metrics; dump them to the JSON log on rank 0.

        Args:
            runner (Runner): The runner of the test run.
            metrics (dict, optional): Test metrics (unused; read from the
                runner's message hub as the parent does).
        """
        if is_main_process():
            super().after_test_epoch(runner, metrics)
            return
        _, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)
