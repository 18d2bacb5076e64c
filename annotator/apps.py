from django.apps import AppConfig


class AnnotatorConfig(AppConfig):
    name = "annotator"
    verbose_name = "Labeling"

    def ready(self):
        from annotator import db_pool

        db_pool.install()
