from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Pages of 50 by default; clients may ask for 1 to 200 with `page_size`. A page size or
    page number that is not such a whole number is bad input (400), not silently replaced."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def _whole_number(self, request, name: str, maximum: int | None = None) -> None:
        raw = request.query_params.get(name)
        if raw is None:
            return
        values = request.query_params.getlist(name)
        if name == self.page_query_param and raw in self.last_page_strings:
            return
        if len(values) > 1 or not raw.isascii() or not raw.isdigit():
            raise ValidationError({name: ["A whole number above zero."]})
        if int(raw) < 1 or (maximum is not None and int(raw) > maximum):
            limit = f" and at most {maximum}" if maximum else ""
            raise ValidationError({name: [f"A whole number above zero{limit}."]})

    def paginate_queryset(self, queryset, request, view=None):
        self._whole_number(request, self.page_size_query_param, self.max_page_size)
        self._whole_number(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            elif parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1)
        return parameters
