"""Guided lessons: lesson files (data), their loader, step checks on a session snapshot, progress."""
from nnstudio.core.lessons.checks import (STATE_KEYS, Check, CheckError, all_hold, describe, empty_state,
                                          parse_check)
from nnstudio.core.lessons.loader import (BUNDLED_DIR, ENV_DIRS, Lesson, LessonStep, get_lesson, lesson_dirs,
                                          load_lessons, parse_lesson)
from nnstudio.core.lessons.progress import (LessonProgress, forget_progress, lesson_project_path, load_progress,
                                            output_only, prepare_lesson_project, progress_path, save_progress)

__all__ = ["STATE_KEYS", "Check", "CheckError", "all_hold", "describe", "empty_state", "parse_check", "BUNDLED_DIR",
           "ENV_DIRS", "Lesson", "LessonStep", "get_lesson", "lesson_dirs", "load_lessons", "parse_lesson",
           "LessonProgress", "forget_progress", "lesson_project_path", "load_progress", "output_only",
           "prepare_lesson_project", "progress_path", "save_progress"]
