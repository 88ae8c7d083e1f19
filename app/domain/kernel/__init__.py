"""The shared kernel of the domain: calendar, SNILS, access, audit, operations, errors, rules, organisations.

Also the pure legal calculations every area uses: penalties (ЖК РФ ст. 155 ч. 14, with the statutory due date)
and the limitation period (ГК РФ ст. 196, 200), shared by the accounts import and the court area.
"""
